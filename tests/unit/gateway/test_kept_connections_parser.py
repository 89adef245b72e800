"""The kept connections' HTTP/1.1 response reader: framing, keep-alive and refusal of bad replies."""

from __future__ import annotations

import pytest

from simple_risk_manager.gateway.kept_connections import (
    MAX_HEAD_BYTES,
    ExchangeError,
    HttpResponse,
    _ResponseParser,
)

BODY = b'{"success":true,"errorCode":0,"errorMessage":null}'
SIZED = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
           b"b;ext=1\r\n" + BODY[:11] + b"\r\n" + f"{len(BODY) - 11:x}".encode() + b"\r\n" + BODY[11:]
           + b"\r\n0\r\nX-Trailer: yes\r\n\r\n")


def parse(*pieces: bytes, limit: int = 1 << 20) -> tuple[HttpResponse | None, _ResponseParser]:
    parser = _ResponseParser(limit)
    response = None
    for piece in pieces:
        assert response is None, "bytes fed after the response was complete"
        response = parser.feed(piece)
    return response, parser


def test_content_length_response_in_one_piece():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nRetry-After: 3\r\n\r\n%s" % (len(BODY), BODY)
    response, parser = parse(raw)
    assert response is not None and (response.status, response.body) == (200, BODY)
    assert response.header("retry-after") == response.header("RETRY-AFTER") == "3"
    assert parser.keep_alive


@pytest.mark.parametrize("name", ["content-length", "chunked"])
def test_a_response_split_at_every_byte_reads_the_same(name):
    raw = CHUNKED if name == "chunked" else SIZED
    response, parser = parse(*(raw[i:i + 1] for i in range(len(raw))))
    assert response is not None and response.body == BODY and parser.keep_alive


def test_chunked_body_with_extensions_and_trailers():
    response, parser = parse(CHUNKED)
    assert response is not None and response.body == BODY and parser.keep_alive
    assert response.header("Transfer-Encoding") == "chunked"


def test_interim_responses_are_skipped():
    response, _ = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    assert response is not None and (response.status, response.body) == (200, b"{}")


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\n{}", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}EXTRA", False),  # out of step: never reused
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),
    ],
    ids=["close", "close-among-tokens", "http-1.0", "http-1.0-keep-alive", "te-and-cl", "extra-bytes", "204"],
)
def test_when_a_connection_may_be_reused(raw, keep_alive):
    response, parser = parse(raw)
    assert response is not None and parser.keep_alive is keep_alive


def test_repeated_headers_are_joined():
    response, _ = parse(b"HTTP/1.1 429 Too Many\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n")
    assert response is not None and response.status == 429 and response.header("X-A") == "1, 2"


def test_a_body_delimited_by_the_close_ends_at_eof():
    response, parser = parse(b"HTTP/1.1 200 OK\r\n\r\n{\"succ", b"ess\":true}")
    assert response is None and not parser.keep_alive
    assert parser.finish().body == b'{"success":true}'


@pytest.mark.parametrize(
    ("pieces", "reason"),
    [
        ((), "before any response byte"),
        ((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",), "mid-response"),
        ((b"HTTP/1.1 200 OK\r\nContent-Le",), "mid-response"),
        ((b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",), "mid-response"),
    ],
    ids=["nothing", "short-body", "inside-head", "no-last-chunk"],
)
def test_eof_before_the_response_is_complete_is_an_error(pieces, reason):
    response, parser = parse(*pieces)
    assert response is None
    with pytest.raises(ExchangeError, match=reason):
        parser.finish()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", "larger than 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"x" * 1024 + b"\r\n",
         "larger than 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1001, "larger than 1000 bytes"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD_BYTES, "head longer"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD_BYTES + b"\r\n\r\n", "head longer"),
        (b"SPDY/3 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 2xx OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX", "no CRLF"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101"),
    ],
    ids=["content-length-over-cap", "chunks-over-cap", "until-close-over-cap", "endless-head", "long-head",
         "not-http", "bad-status", "no-colon", "obs-fold", "two-lengths", "negative-length",
         "bad-chunk-size", "chunk-without-crlf", "switching-protocols"],
)
def test_malformed_or_oversized_responses_are_refused(raw, reason):
    with pytest.raises(ExchangeError, match=reason):
        parse(raw, limit=1000)
