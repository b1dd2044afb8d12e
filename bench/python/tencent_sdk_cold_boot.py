#!/usr/bin/env python3
"""Tencent's own Python device SDK doing a cold device's registration and login, as a whole
process, against the mock platform: the reference that bench/startup.ts times `explorer-xs
device --once` against (issue 16: ours at most half of this).

    pip install tencent-iot-device     # Tencent's IoT Explorer device SDK for Python
    python3 bench/python/tencent_sdk_cold_boot.py HTTP_URL MQTT_URL PRODUCT_ID PRODUCT_SECRET DEVICE_NAME

It writes the factory `device_info.json` (the SDK's sample, no device secret), calls the SDK's
`dynregDevice()` and then `connect()`, and exits 0 as soon as the MQTT session is up. The SDK always talks to
`ap-guangzhou.gateway.tencentdevices.com` (HTTP, port 80 with tls=False) and
`<ProductId>.iotcloud.tencentdevices.com:1883`, and signs that host name; this script points
those two addresses at the mock by wrapping `socket.create_connection` (which both urllib and
paho-mqtt use), so the SDK itself runs unchanged.

Exit codes: 0 online, 1 failed, 3 skipped because the SDK is not installed (the message says so).
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from urllib.parse import urlparse

SKIPPED = 3

try:
    from explorer.explorer import QcloudExplorer  # tencent-iot-device
except ImportError as error:
    print(f"skipped: Tencent's Python device SDK is not installed ({error}); `pip install tencent-iot-device` to run this comparison", file=sys.stderr)
    sys.exit(SKIPPED)


def redirect(http_url, mqtt_url):
    http = urlparse(http_url)
    broker = urlparse(mqtt_url)
    original = socket.create_connection

    def create_connection(address, *args, **kwargs):
        host, port = address[0], address[1]
        if host == "ap-guangzhou.gateway.tencentdevices.com":
            address = (http.hostname, http.port or 80)
        elif host.endswith(".iotcloud.tencentdevices.com"):
            address = (broker.hostname, broker.port or 1883)
        return original(address, *args, **kwargs)

    socket.create_connection = create_connection


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    http_url, mqtt_url, product_id, product_secret, device_name = sys.argv[1:]
    redirect(http_url, mqtt_url)
    folder = tempfile.mkdtemp(prefix="explorer-xs-pysdk-")
    device_file = os.path.join(folder, "device_info.json")
    with open(device_file, "w") as out:
        # The SDK's own sample file, factory-fresh: its placeholder secret until dynregDevice() fills it in.
        json.dump({
            "auth_mode": "KEY", "productId": product_id, "productSecret": product_secret, "deviceName": device_name,
            "key_deviceinfo": {"deviceSecret": "YOUR_DEVICE_SECRET"},
            "cert_deviceinfo": {"devCaFile": "YOUR_CA_FILE_NAME", "devCertFile": "YOUR_DEVICE_CERT_FILE_NAME", "devPrivateKeyFile": "YOUR_DEVICE_PRIVATE_KEY_FILE_NAME"},
            "subDev": {"subdev_num": 0, "subdev_list": []},
            "region": "china",
        }, out)
    try:
        qcloud = QcloudExplorer(device_file=device_file, tls=False)
        code, message = qcloud.dynregDevice()
        if code != 0:
            print(f"dynregDevice failed: {message}", file=sys.stderr)
            return 1
        qcloud.connect()
        deadline = time.monotonic() + 10
        while not qcloud.isMqttConnected():
            if time.monotonic() > deadline:
                print("MQTT connect did not complete within 10 s", file=sys.stderr)
                return 1
            time.sleep(0.002)
    finally:
        # dynregDevice() writes the issued device secret into this file: no secret stays in /tmp.
        shutil.rmtree(folder, ignore_errors=True)
    # Online: the measured work is done. Leave at once, as `explorer-xs device --once` does once its
    # report is acknowledged; paho's graceful disconnect waits for its network thread (~0.3 s here),
    # which would be teardown, not registration or login.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
