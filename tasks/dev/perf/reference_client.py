#!/usr/bin/python3
"""Reference load client for `deno task perf --only peers`: open-loop streaming
requests the way vLLM's `vllm bench serve` sends them, written for topobench
(no vLLM code). It imitates that benchmark's request path: one asyncio event
loop, one aiohttp ClientSession, Poisson arrivals at a target rate, each request
a task that POSTs `stream: true` to /v1/completions and iterates the SSE lines
of the answer, taking the first chunk with text as its first token (TTFT).

It prints one JSON object: the achieved send rate, the send lag (how late each
request left against its Poisson schedule), TTFT p50/p99 from the send, and
the CPU seconds this process used. Run it with the system Python that has
aiohttp (`apt-get install python3-aiohttp`):

    /usr/bin/python3 tasks/dev/perf/reference_client.py --url http://127.0.0.1:8000 \
        --rate 1000 --duration 10 [--input-words 512] [--output-len 16] [--seed 1] [--warmup 1]
"""

import argparse
import asyncio
import json
import random
import string
import sys
import time

import aiohttp

# vLLM's benchmark waits up to 6 hours for an answer
TIMEOUT = aiohttp.ClientTimeout(total=6 * 60 * 60)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--rate", type=float, required=True, help="target requests/s (Poisson)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of arrivals")
    p.add_argument("--input-words", type=int, default=512, help="random words per prompt")
    p.add_argument("--output-len", type=int, default=16, help="max_tokens (ignore_eos)")
    p.add_argument("--model", default=None, help="model name (default: the server's first)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--warmup", type=float, default=0.0, help="seconds of the same load sent first, not recorded")
    a = p.parse_args(argv)
    if not a.rate > 0 or not a.duration > 0 or a.input_words < 1 or a.output_len < 1:
        p.error(f"--rate, --duration, --input-words, --output-len must be positive: {vars(a)}")
    return a


def prompt_pool(words, rng, size=256):
    """`size` texts of `words` - 2 random lower-case words; request i's prompt is
    `request i ` before text i % size (every prompt different, none built twice)."""
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(4096)]
    return [" ".join(rng.choices(vocab, k=max(1, words - 2))) for _ in range(size)]


def schedule(n, rate, rng):
    """Send times (s from the start) of n Poisson arrivals at `rate`."""
    t, out = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate)
        out.append(t)
    return out


async def one_request(session, url, payload, at, start, rec):
    """Sends one request at its scheduled time `at`; records its send lag, TTFT and outcome."""
    sent = time.perf_counter()
    rec["lag"] = sent - (start + at)
    rec["ttft"] = None
    rec["ok"] = False
    try:
        async with session.post(url, json=payload) as res:
            if res.status != 200:
                return
            async for line in res.content:
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    rec["ok"] = True
                    continue
                if rec["ttft"] is None:
                    chunk = json.loads(data)
                    choices = chunk.get("choices") or []
                    if choices and choices[0].get("text"):
                        rec["ttft"] = time.perf_counter() - sent
    except (aiohttp.ClientError, asyncio.TimeoutError):
        rec["ok"] = False


async def model_name(session, base):
    async with session.get(f"{base}/v1/models") as res:
        return (await res.json())["data"][0]["id"]


async def play(session, url, model, pool, times, tag, output_len):
    """Sends one request per scheduled time from now; their records, wall and CPU seconds."""
    recs = [{} for _ in times]
    tasks = []
    cpu0 = time.process_time()
    start = time.perf_counter()
    for i, at in enumerate(times):
        wait = start + at - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        payload = {
            "model": model,
            "prompt": f"{tag} {i} {pool[i % len(pool)]}",
            "max_tokens": output_len,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        tasks.append(asyncio.create_task(one_request(session, url, payload, at, start, recs[i])))
    await asyncio.gather(*tasks)
    return recs, time.perf_counter() - start, time.process_time() - cpu0


async def run(a):
    rng = random.Random(a.seed)
    n = max(2, round(a.rate * a.duration))
    pool = prompt_pool(a.input_words, rng)
    times = schedule(n, a.rate, rng)
    url = f"{a.url.rstrip('/')}/v1/completions"
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        model = a.model or await model_name(session, a.url.rstrip("/"))
        if a.warmup > 0:  # the same load first, its records dropped (as bench's --warmup)
            warm = schedule(max(2, round(a.rate * a.warmup)), a.rate, rng)
            await play(session, url, model, pool, warm, "warmup", a.output_len)
        recs, wall, cpu = await play(session, url, model, pool, times, "request", a.output_len)
    return summary(a, recs, times, wall, cpu)


def pct(xs, q):
    """The q-th percentile (nearest rank) of xs, in ms; None when empty."""
    if not xs:
        return None
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs))) - 1))], 3)


def summary(a, recs, times, wall, cpu):
    sends = sorted(times[i] + r["lag"] for i, r in enumerate(recs))
    ok = [r for r in recs if r["ok"]]
    ttfts = [r["ttft"] for r in ok if r["ttft"] is not None]
    span = sends[-1] - sends[0]
    return {
        "client": "reference (asyncio + aiohttp, vllm bench serve style)",
        "rate_target": a.rate,
        "sent": len(recs),
        "completed": len(ok),
        "failed": len(recs) - len(ok),
        "duration_s": round(wall, 3),
        "rate_achieved": round((len(sends) - 1) / span, 2) if span > 0 else 0,
        "send_lag_p50_ms": pct([r["lag"] for r in recs], 50),
        "send_lag_p99_ms": pct([r["lag"] for r in recs], 99),
        "ttft_p50_ms": pct(ttfts, 50),
        "ttft_p99_ms": pct(ttfts, 99),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_request": round(1000 * cpu / len(recs), 4),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(parse_args(sys.argv[1:])))))
