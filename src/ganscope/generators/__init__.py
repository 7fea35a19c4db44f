"""Generator families (dcgan, stylegan2, autoencoder, vae) with pluggable upsampling, SNGAN and
spectral discriminators, DiffAugment, GAN losses, a resumable training loop, seed-named sampling
and weight-free quality metrics."""

from ganscope.generators.autoencoder import AutoencoderGenerator, VAEGenerator
from ganscope.generators.dcgan import DCGANGenerator
from ganscope.generators.diffaugment import diff_augment
from ganscope.generators.discriminators import SNGANDiscriminator, SpectralDiscriminator
from ganscope.generators.family import (
    GENERATORS,
    GeneratorFamily,
    create_generator,
    register_generator,
)
from ganscope.generators.losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)
from ganscope.generators.metrics import (
    SWDResult,
    laplacian_pyramid,
    sliced_wasserstein_distance,
    spectral_distance,
)
from ganscope.generators.quality import QualityReport, quality_report
from ganscope.generators.rerender import (
    ConvAutoencoder,
    load_rerender,
    rerender,
    save_rerender,
    train_rerender,
)
from ganscope.generators.sample import (
    image_grid,
    latents_for_seeds,
    sample_images,
    save_samples,
    seed_filename,
)
from ganscope.generators.spectral import (
    log_profile,
    normalized_profile,
    spectral_regularization,
)
from ganscope.generators.stylegan2 import StyleGAN2Generator
from ganscope.generators.train import (
    TrainConfig,
    TrainResult,
    load_generator,
    recalibrate_batchnorm,
    train_gan,
)

__all__ = [
    "GENERATORS",
    "LOSSES",
    "AutoencoderGenerator",
    "ConvAutoencoder",
    "DCGANGenerator",
    "GeneratorFamily",
    "QualityReport",
    "SNGANDiscriminator",
    "SWDResult",
    "SpectralDiscriminator",
    "StyleGAN2Generator",
    "TrainConfig",
    "TrainResult",
    "VAEGenerator",
    "create_generator",
    "diff_augment",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "image_grid",
    "laplacian_pyramid",
    "latents_for_seeds",
    "load_generator",
    "load_rerender",
    "log_profile",
    "normalized_profile",
    "quality_report",
    "recalibrate_batchnorm",
    "register_generator",
    "rerender",
    "sample_images",
    "save_rerender",
    "save_samples",
    "seed_filename",
    "sliced_wasserstein_distance",
    "spectral_distance",
    "spectral_regularization",
    "train_gan",
    "train_rerender",
]
