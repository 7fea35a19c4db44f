"""Reading image folders safely, the built-in photo corpus, dataset layouts, atomic writers."""

from ganscope.io.builtin import PHOTOS, iter_builtin, plan_crops, write_builtin
from ganscope.io.datasets import LabeledSet, fake_source_name, is_cnndetection_tree, load_labeled
from ganscope.io.folders import ImageBatch, center_crop_array, iter_batches, list_images
from ganscope.io.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    load_array,
    load_image,
    pil_to_array,
    read_size,
)
from ganscope.io.locks import FolderLockedError, run_lock
from ganscope.io.writers import (
    atomic_path,
    errors_csv_path,
    errors_json,
    is_temp_name,
    open_text,
    remove_stale_temp_files,
    save_png,
    to_uint8,
    write_bytes,
    write_csv,
    write_errors_csv,
    write_json,
    write_text,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "PHOTOS",
    "FolderLockedError",
    "ImageBatch",
    "LabeledSet",
    "atomic_path",
    "center_crop_array",
    "errors_csv_path",
    "errors_json",
    "fake_source_name",
    "is_cnndetection_tree",
    "is_temp_name",
    "iter_batches",
    "iter_builtin",
    "list_images",
    "load_array",
    "load_image",
    "load_labeled",
    "open_text",
    "pil_to_array",
    "plan_crops",
    "read_size",
    "remove_stale_temp_files",
    "run_lock",
    "save_png",
    "to_uint8",
    "write_builtin",
    "write_bytes",
    "write_csv",
    "write_errors_csv",
    "write_json",
    "write_text",
]
