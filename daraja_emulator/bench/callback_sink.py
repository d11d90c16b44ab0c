"""A minimal callback receiver for load tests: answers every POST 200 `{"ResultCode": 0}`.

    python -m daraja_emulator.bench.callback_sink --port 18190

asyncio, HTTP/1.1 keep-alive, counts callbacks (printed every 10 s when they arrive) and
keeps nothing, so that the emulator's own cost can be measured with callbacks switched on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time

ANSWER = b'{"ResultCode": 0, "ResultDesc": "Accepted"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
    + ANSWER
)


class Sink(asyncio.Protocol):
    received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head, separator, rest = self.buffer.partition(b"\r\n\r\n")
            if not separator:
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            Sink.received += 1
            self.transport.write(RESPONSE)


async def report() -> None:
    seen, started = 0, time.monotonic()
    while True:
        await asyncio.sleep(10)
        if Sink.received != seen:
            elapsed = time.monotonic() - started
            print(f"{Sink.received} callbacks received ({elapsed:.0f} s)", flush=True)
            seen = Sink.received


async def serve(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Sink, host, port, backlog=1024)
    print(f"callback sink listening on http://{host}:{port}", flush=True)
    async with server:
        await asyncio.gather(server.serve_forever(), report())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18190)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
