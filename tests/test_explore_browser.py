"""The explorer in a real browser (headless Chromium through Selenium): what the page shows is the library's.

Skipped only where Chromium (or Selenium) is missing AND SCRATCHVAE_REQUIRE_BROWSER is unset; CI
(.ci/run) installs Chromium and sets the variable, so there this test runs or fails, never skips.
SCRATCHVAE_SCREENSHOT=PATH saves a screenshot of the 2-D model's page (the README's picture).
"""
import contextlib
import json
import os
import shutil
import tempfile
import time

import numpy as np
import pytest

from scratchvae import pretrained
from scratchvae.data import load_mnist
from scratchvae.explore import server
from scratchvae.explore.framing import frame_like_mnist
from scratchvae.explore.latent_space import LatentSpace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
except ImportError:                                   # the dev extra installs it
    webdriver = None
MISSING = [what for what, there in (("chromium", CHROMIUM), ("chromedriver", DRIVER), ("selenium", webdriver))
           if not there]
if MISSING and not os.environ.get("SCRATCHVAE_REQUIRE_BROWSER"):
    pytest.skip(f"{', '.join(MISSING)} not installed (set SCRATCHVAE_REQUIRE_BROWSER=1 to make this an error)",
                allow_module_level=True)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1100"]


@pytest.fixture(scope="module")
def browser():
    assert not MISSING, f"SCRATCHVAE_REQUIRE_BROWSER is set but {', '.join(MISSING)} is missing"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="scratchvae-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def digits():
    x, y = load_mnist("test")
    return x[:3000], y[:3000].astype(np.int64)                          # as the command's default --points


@contextlib.contextmanager
def open_page(browser, digits, name):
    """Serve a shipped model on a free port and load its page; yields the server, then shuts it down."""
    srv = server.start(LatentSpace(pretrained.load(name), *digits, name=name))
    try:
        browser.get(srv.url)
        wait(browser, "return document.body.dataset.ready === '1'")
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def wait(browser, script, timeout=15):
    """Poll a JavaScript condition until it is true (the page's answers arrive asynchronously)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if browser.execute_script(script):
            return
        time.sleep(0.05)
    error = browser.execute_script("return document.getElementById('error').textContent")
    raise AssertionError(f"timed out waiting for: {script} (page error: {error!r})")


def decoded_after(browser, act):
    """Do `act`, wait for the decoded digit to change and settle; return (z, pixels as shown)."""
    seq = browser.execute_script("return Number(document.getElementById('decoded').dataset.seq)")
    act()
    wait(browser, f"const d = document.getElementById('decoded').dataset; return Number(d.seq) > {seq} && !d.busy")
    d = browser.execute_script("return {...document.getElementById('decoded').dataset}")
    return np.array(json.loads(d["z"]), np.float32), np.array(json.loads(d["pixels"]), np.float32)


def assert_no_page_errors(browser):
    """Nothing went wrong on the page: no JavaScript error or failed load in the console, no error shown."""
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
    assert browser.find_element("id", "error").get_attribute("hidden") is not None


def canvas_pixels(browser, element_id):
    """The grey levels (0..255) the page painted on a 28x28 canvas."""
    return np.array(browser.execute_script(
        f"const c = document.getElementById('{element_id}');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        "  .filter((_, i) => i % 4 === 0);"), np.float64)                   # the red channel of each pixel


def test_the_digit_under_the_pointer_is_the_librarys_decode(browser, digits):
    with open_page(browser, digits, "vae-2") as srv:
        target = np.array([0.8, -0.6])                                     # a latent point (J = 2: the map)
        cx, cy = browser.execute_script(f"return toCanvas([{target[0]}, {target[1]}])")
        scale = browser.execute_script("return frame.scale")
        canvas = browser.find_element("id", "map")
        size = canvas.size                                                 # offsets are from the centre
        z, pixels = decoded_after(browser, lambda: ActionChains(browser).move_to_element_with_offset(
            canvas, round(cx - size["width"] / 2), round(cy - size["height"] / 2)).perform())
        assert np.abs(z - target).max() <= 1.5 / scale                     # within a pixel or so of the target
        expected = srv.space.model.decode(z[None, :])[0]                   # the library's decode of that z
        np.testing.assert_allclose(pixels, expected, rtol=0, atol=1e-6)
        np.testing.assert_allclose(canvas_pixels(browser, "decoded"), np.round(255 * expected), atol=1)
        assert_no_page_errors(browser)


def test_a_drawn_digit_shows_the_encoders_mean_and_std(browser, digits):
    with open_page(browser, digits, "vae-2") as srv:
        pad = browser.find_element("id", "draw")
        (ActionChains(browser).move_to_element_with_offset(pad, -25, -45).click_and_hold()
         .move_by_offset(45, 0).move_by_offset(-30, 95).release().perform())                # a 7
        wait(browser, "return Number(document.getElementById('encoded').dataset.seq) >= 1")
        shown = browser.execute_script("return {...document.getElementById('encoded').dataset}")
        x = np.array(json.loads(shown["pixels"]), np.float32)[None, :]
        assert x.shape == (1, 784) and x.sum() > 10                         # something was drawn
        np.testing.assert_allclose(canvas_pixels(browser, "draw")[None, :] / 255, x, atol=1e-6)
        framed = frame_like_mnist(x[0])[None, :]                             # as the encoder reads it
        np.testing.assert_allclose(json.loads(shown["input"]), framed[0], atol=1e-6)
        mu, logvar = srv.space.model.encode(framed)
        np.testing.assert_allclose(json.loads(shown["mu"]), mu[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(json.loads(shown["std"]), np.exp(0.5 * logvar[0]), rtol=1e-5)
        shown_elbo = float(browser.execute_script("return document.getElementById('elbo').dataset.negElbo"))
        assert shown_elbo == pytest.approx(srv.space.neg_elbo(framed)["neg_elbo"], rel=1e-9)   # the library's
        assert "not a log-likelihood" in browser.find_element("id", "elbo").text
        if os.environ.get("SCRATCHVAE_SCREENSHOT"):                          # the README's picture
            canvas = browser.find_element("id", "map")
            (ActionChains(browser).move_to_element_with_offset(canvas, -150, 40).click()
             .move_to_element_with_offset(canvas, 120, -110).click().move_to_element_with_offset(canvas, 60, 90)
             .perform())
            wait(browser, "return document.getElementById('pick-state').textContent.startsWith('From')")
            browser.find_element("id", "sample").click()
            wait(browser, "return Number(document.getElementById('samples').dataset.seq) >= 1")
            browser.save_screenshot(os.environ["SCRATCHVAE_SCREENSHOT"])
        assert_no_page_errors(browser)


def test_the_label_picker_redecodes_the_same_z(browser, digits):
    with open_page(browser, digits, "cvae-2") as srv:
        z_before = json.loads(browser.execute_script("return document.getElementById('decoded').dataset.z"))
        button = browser.find_element("css selector", "#label-buttons button[data-label='3']")
        z, pixels = decoded_after(browser, button.click)
        np.testing.assert_array_equal(z, np.float32(z_before))
        np.testing.assert_allclose(pixels, srv.space.model.decode(z[None, :], np.array([3]))[0], atol=1e-6)
        assert_no_page_errors(browser)


def test_sliders_come_in_kl_order_and_decode(browser, digits):
    with open_page(browser, digits, "vae-20") as srv:
        order = browser.execute_script("return [...document.querySelectorAll('#sliders input')].map(s => +s.dataset.j)")
        assert order == srv.space.order.tolist() and len(order) == 20
        j = order[0]
        z, pixels = decoded_after(browser, lambda: browser.execute_script(
            f"const s = document.querySelector('#sliders input[data-j=\"{j}\"]'); s.value = 1.25;"
            "s.dispatchEvent(new Event('input'));"))
        assert z[j] == np.float32(1.25)                                     # the slider's z_j, decoded
        np.testing.assert_allclose(pixels, srv.space.model.decode(z[None, :])[0], atol=1e-6)
        note = browser.find_element("id", "pointer-note")
        assert note.is_displayed() and "18 directions keep" in note.text and "path" in note.text
        assert "Fisher's linear discriminants" in browser.find_element("id", "axes-explained").text
        assert_no_page_errors(browser)


def test_the_sample_button_draws_from_the_prior_and_marks_each_sample(browser, digits):
    with open_page(browser, digits, "vae-2") as srv:
        assert not browser.find_element("id", "pointer-note").is_displayed()   # J = 2: the map is z itself
        browser.find_element("id", "sample").click()
        wait(browser, "return Number(document.getElementById('samples').dataset.seq) >= 1")
        shown = browser.execute_script("return {...document.getElementById('samples').dataset}")
        expected = srv.space.sample(8, 1)                                     # the first press: seed 1
        np.testing.assert_allclose(json.loads(shown["z"]), expected["z"], rtol=1e-12)
        painted = canvas_pixels(browser, "samples").reshape(28, 8 * 28)     # 8 digits side by side
        first = np.round(255 * np.float64(expected["images"][0])).reshape(28, 28)
        np.testing.assert_allclose(painted[:, :28], first, atol=1)
        assert browser.execute_script("return state.samples.xy.length") == 8
        assert_no_page_errors(browser)
