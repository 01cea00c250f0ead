"""The browser console in real headless Chromium: the noVNC page connects through the relay to the Proxmox
simulator and draws its text screen; a reload of the used link fails cleanly."""
import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import save_screenshot
from tests.support.customers import sign_in

pytestmark = pytest.mark.browser

# Pixels of the simulator's ink (220, 220, 220) on its dark paper: text was drawn on the canvas.
INK_PIXELS = """() => {
  const canvas = document.querySelector("#screen canvas");
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] > 180 && data[i + 1] > 180 && data[i + 2] > 180) ink++;
  return ink;
}"""


def test_the_console_page_connects_and_draws_the_screen(live_server_url, chromium_page, owner, sold, proxmox):
    page = chromium_page
    sold(owner, 301)
    http = requests.Session()
    http.cookies.set("session_id", sign_in(owner))
    link = http.post(f"{live_server_url}/console_link", json={"server_id": 301}, timeout=10).json()["url"]
    assert link.startswith(live_server_url + "/vnc/")

    page.goto(link)
    expect(page.locator("body")).to_have_attribute("data-state", "connected")
    expect(page.locator("#status")).to_have_text("Connected")
    expect(page).to_have_title(f"VM 301 (301-{owner.username})")  # noVNC's desktop name, from ServerInit
    page.wait_for_function(f"({INK_PIXELS})() > 500")  # the text screen, not a blank canvas
    save_screenshot(page, "vm-console")
    assert proxmox.consoles_served == 1

    # The link and the page's WebSocket session were single-use: a reload gets a clean refusal page.
    response = page.reload()
    assert response.status == 404
    expect(page.get_by_role("heading", name="Console unavailable")).to_be_visible()
    expect(page.get_by_text("used already or has expired")).to_be_visible()
    assert proxmox.consoles_served == 1
