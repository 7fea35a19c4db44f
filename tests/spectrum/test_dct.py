import numpy as np
import pytest
import scipy.fft
import torch

from ganscope.spectrum import DCTSpectrum, dct2, dct_basis, dct_spectrum


@pytest.mark.parametrize(("H", "W"), [(8, 8), (9, 9), (6, 11), (16, 5)])
def test_dct2_equals_scipy_orthonormal_dctn(H, W):
    x = torch.rand(2, 3, H, W, dtype=torch.float64)
    ref = scipy.fft.dctn(x.numpy(), type=2, norm="ortho", axes=(-2, -1))
    np.testing.assert_allclose(dct2(x).numpy(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        dct_spectrum(x).numpy(), np.log(np.abs(ref) + 1e-12), rtol=1e-10, atol=1e-9
    )


def test_basis_is_orthonormal_and_parseval_holds():
    for n in (1, 2, 7, 8):
        d = dct_basis(n)
        torch.testing.assert_close(d @ d.T, torch.eye(n, dtype=torch.float64), rtol=0, atol=1e-13)
    x = torch.rand(1, 1, 7, 9, dtype=torch.float64)
    torch.testing.assert_close(dct2(x).square().sum(), x.square().sum(), rtol=1e-12, atol=0)


def test_a_basis_image_has_one_coefficient():
    H, W, ky, kx = 8, 6, 3, 2
    img = (dct_basis(H)[ky][:, None] * dct_basis(W)[kx][None, :])[None, None]
    coeffs = dct_spectrum(img, log=False)[0, 0]
    expected = torch.zeros(H, W, dtype=torch.float64)
    expected[ky, kx] = 1.0
    torch.testing.assert_close(coeffs, expected, rtol=0, atol=1e-13)


def test_module_dtype_and_gradcheck():
    x = torch.rand(2, 3, 5, 4)
    out = DCTSpectrum()(x)
    assert out.shape == (2, 3, 5, 4) and out.dtype == torch.float32
    torch.testing.assert_close(out, dct_spectrum(x))
    xd = torch.rand(1, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dct_spectrum(t, log=False), (xd,))
    with pytest.raises(ValueError):
        dct_spectrum(torch.rand(4, 4))
