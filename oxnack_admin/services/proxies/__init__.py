"""Proxy resale: SOCKS5 proxies mirrored from an upstream, sold at one price, refundable when offline."""
