"""The simulator against LALSuite (lalsuite from PyPI, pinned in requirements.txt).

- PSD: torchclad's aLIGO design curve against lalsimulation's
  SimNoisePSDaLIGOZeroDetHighPower, 20 Hz to 1 kHz (and 9 Hz to 8 kHz):
  relative deviation below 1e-4.
- SNR: the optimal SNR of an injection with torchclad's waveform and PSD
  against LAL's TaylorF2 and LAL's PSD, within 2%; the simulator's recorded
  SNR against the SNR of its injected signal computed with LAL's PSD, within 2%.
- Waveform: the match (noise-weighted overlap maximised over time and phase)
  of torchclad's chirp with lalsimulation's TaylorF2 >= 0.97.
- Noise: the coloured noise's Welch PSD against LAL's PSD; whitened noise
  has unit variance.

Measured figures are printed (pytest -s shows them) and quoted in gw/README.md.
"""
import lal
import lalsimulation as ls
import numpy as np
import pytest
import torch
from scipy.signal import welch

F_LOWER = 20.0
MASS_PAIRS = [(5.0, 5.0), (10.0, 20.0), (30.0, 30.0), (50.0, 45.0), (1.4, 1.4)]


def lal_psd(freqs):
    return np.array([ls.SimNoisePSDaLIGOZeroDetHighPower(float(f)) if f > 0 else 0.0 for f in freqs])


def lal_taylorf2(m1, m2, distance_mpc, df, f_lower, n_bins):
    """lalsimulation's TaylorF2 (plus polarisation, face-on), as n_bins values on k * df."""
    hp, _ = ls.SimInspiralChooseFDWaveform(
        m1 * lal.MSUN_SI, m2 * lal.MSUN_SI, 0, 0, 0, 0, 0, 0, distance_mpc * 1e6 * lal.PC_SI,
        0.0, 0.0, 0.0, 0.0, 0.0, df, f_lower, 0.0, f_lower, None, ls.TaylorF2)
    h = np.zeros(n_bins, dtype=complex)
    n = min(n_bins, hp.data.length)
    h[:n] = hp.data.data[:n]
    return h


def snr_fd(h, psd, df, f_lower):
    f = np.arange(len(h)) * df
    use = (f >= f_lower) & (psd > 0)
    return np.sqrt(4 * df * np.sum(np.abs(h[use]) ** 2 / psd[use]))


def match(h1, h2, psd, df, f_lower):
    """max over time and phase of (h1|h2 e^{i(2 pi f t + phi)}) / sqrt((h1|h1)(h2|h2))."""
    f = np.arange(len(h1)) * df
    use = (f >= f_lower) & (psd > 0)
    integrand = np.zeros(4 * len(h1), dtype=complex)  # zero-padded: fine time steps
    integrand[: len(h1)][use] = h1[use] * np.conj(h2[use]) / psd[use]
    overlap = 4 * df * np.abs(np.fft.ifft(integrand)).max() * len(integrand)
    return overlap / (snr_fd(h1, psd, df, f_lower) * snr_fd(h2, psd, df, f_lower))


def test_psd_matches_lalsimulation(gw):
    for lo, hi, tol in ((20.0, 1000.0, 1e-4), (9.0, 8192.0, 1e-4)):
        f = np.geomspace(lo, hi, 3000)
        ours = gw.psd(torch.from_numpy(f)).numpy()
        dev = np.abs(ours / lal_psd(f) - 1).max()
        print(f"\nPSD {lo:g}-{hi:g} Hz: max relative deviation from lalsimulation {dev:.2e}")
        assert dev < tol


@pytest.mark.parametrize("m1,m2", MASS_PAIRS)
def test_taylorf2_match_with_lalsimulation(gw, m1, m2):
    df, fs = 1 / 64, 4096.0
    n_bins = int(fs / 2 / df) + 1
    f = np.arange(n_bins) * df
    ours = gw.taylorf2(torch.from_numpy(f), m1, m2, 100.0, F_LOWER, 0.0).numpy()
    theirs = lal_taylorf2(m1, m2, 100.0, df, F_LOWER, n_bins)
    m = match(ours, theirs, lal_psd(f), df, F_LOWER)
    # The same phasing should agree almost exactly; the issue asks >= 0.97.
    print(f"\nmatch TaylorF2 {m1:g}+{m2:g}: {m:.8f} (1 - match = {1 - m:.1e})")
    assert m >= 0.97
    assert m >= 0.999


@pytest.mark.parametrize("m1,m2", MASS_PAIRS)
def test_injection_snr_matches_lal(gw, m1, m2):
    """Our waveform + PSD against LAL's TaylorF2 + LAL's PSD, at 400 Mpc from 20 Hz to ISCO;
    and our time-domain SNR function applied to LAL's waveform."""
    df, fs = 1 / 64, 4096.0
    n_bins = int(fs / 2 / df) + 1
    f = np.arange(n_bins) * df
    distance = 400.0
    ours_h = gw.taylorf2(torch.from_numpy(f), m1, m2, distance, F_LOWER, 0.0).numpy()
    ours = snr_fd(ours_h, gw.psd(torch.from_numpy(f)).numpy(), df, F_LOWER)
    theirs_h = lal_taylorf2(m1, m2, distance, df, F_LOWER, n_bins)
    theirs = snr_fd(theirs_h, lal_psd(f), df, F_LOWER)
    series = np.fft.irfft(theirs_h * fs, n=int(fs / df))  # LAL's chirp as a time series
    ours_td = gw.optimal_snr(torch.from_numpy(series), fs, F_LOWER, 0.0)
    print(f"\nSNR {m1:g}+{m2:g} at {distance:g} Mpc: ours {ours:.4f}, LAL {theirs:.4f} "
          f"({ours / theirs - 1:+.2e}); our time-domain SNR of LAL's chirp {ours_td:.4f} ({ours_td / theirs - 1:+.2e})")
    assert abs(ours / theirs - 1) < 0.02
    assert abs(ours_td / theirs - 1) < 0.02


@pytest.mark.parametrize("duration", [1.0, 2.0])
def test_recorded_snr_matches_lal_psd(gw, duration):
    """The snr of each simulated signal window against the optimal SNR of its
    injected signal (inside the window) computed with LAL's PSD."""
    fs = 2048.0
    strain, label, snr, m1, m2, tm, phase, signal = gw.simulate(24, 11, fs, duration, 5.0, 50.0, 5.0, 20.0)
    df = 1 / duration
    n = signal.shape[1]
    f = np.arange(n // 2 + 1) * df
    psd = lal_psd(f)
    worst = 0.0
    for i in np.nonzero(label.numpy() == 1)[0]:
        h = np.fft.rfft(signal[i].numpy()) / fs
        theirs = snr_fd(h, psd, df, F_LOWER)
        worst = max(worst, abs(snr[i].item() / theirs - 1))
    print(f"\nrecorded SNR vs LAL PSD, {duration:g} s windows: max relative deviation {worst:.2e}")
    assert worst < 0.02


def test_merger_time_is_where_the_chirp_peaks(gw):
    """merger_time is the coalescence time t_c of the TaylorF2 phase. The
    chirp, cut at the ISCO frequency, peaks within a few cycles of it (the
    3.5PN stationary-phase time of frequencies near the ISCO is not monotonic
    for heavy or unequal binaries, so the peak can be 30 ms either side)."""
    fs = 2048.0
    strain, label, snr, m1, m2, tm, phase, signal = gw.simulate(40, 3, fs, 1.0, 5.0, 50.0, 5.0, 20.0)
    for i in np.nonzero(label.numpy() == 1)[0]:
        a, b, t_c = m1[i].item(), m2[i].item(), tm[i].item()
        peak = np.abs(signal[i].numpy()).argmax() / fs
        assert abs(peak - t_c) < 0.05, (i, peak, t_c, a, b)
        # The chirp is present from the window's start (it starts before it).
        assert np.abs(signal[i, :64].numpy()).max() > 0


def test_coloured_noise_has_the_lal_psd(gw):
    fs, n = 2048.0, 2048 * 256
    x = gw.coloured_noise(n, fs, 5).numpy()
    f, pxx = welch(x, fs=fs, nperseg=4096)
    band = (f >= 30) & (f <= 900)
    ratio = pxx[band] / lal_psd(f[band])
    print(f"\ncoloured noise Welch PSD / LAL PSD, 30-900 Hz: mean {ratio.mean():.4f}, "
          f"min {ratio.min():.3f}, max {ratio.max():.3f}")
    assert abs(ratio.mean() - 1) < 0.02
    assert 0.75 < ratio.min() and ratio.max() < 1.3
    w = gw.whiten(torch.from_numpy(x), fs, 20.0, 500.0).numpy()
    assert abs(w.var() - 1) < 0.02


def test_whitened_noise_windows_have_unit_variance(gw):
    strain, label, *_ = gw.simulate(400, 9, 2048.0, 1.0, 5.0, 50.0, 5.0, 20.0)
    noise = strain[label == 0]
    print(f"\nwhitened noise windows: variance {noise.var().item():.4f}, mean {noise.mean().item():+.4f}")
    assert abs(noise.var().item() - 1) < 0.02
    assert abs(noise.mean().item()) < 0.01


def test_bad_parameters_raise(gw):
    with pytest.raises(RuntimeError, match="mass_min: expected a mass in solar masses > 0, found -5"):
        gw.simulate(4, 1, 2048.0, 1.0, -5.0, 50.0, 5.0, 20.0)
    with pytest.raises(RuntimeError, match="snr_min: expected an SNR > 0, found 0"):
        gw.simulate(4, 1, 2048.0, 1.0, 5.0, 50.0, 0.0, 20.0)
    with pytest.raises(RuntimeError, match="duration 0.25 s is shorter than the band needs"):
        gw.simulate(4, 1, 2048.0, 0.25, 5.0, 50.0, 5.0, 20.0)
