"""PyAV side of scripts/bench/video.ts, as issue 18 specifies the baseline:
for each clip, seek to the keyframe before it, decode, keep the frame shown
at each target time, to_ndarray + resize (reformat to H x W rgb24, PyAV's
bilinear swscale: the same resize MX8 does), thread_type "AUTO". Run as
worker `k` of `n` processes (clip i goes to worker i % n, like a data
loader's workers); the container of each file stays open across its clips.
Prints one JSON line with the wall time and the clips decoded."""
import json
import sys
import time

import av


def clips(path, starts, t, h, w):
    done = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = s.time_base
        rate = s.average_rate
        first = s.start_time or 0
        for start in starts:
            targets = [first + int(round((start + i) / rate / tb)) for i in range(t)]
            c.seek(targets[0], stream=s, backward=True, any_frame=False)
            held = None
            out = []
            for f in c.decode(s):
                ts = f.pts
                while len(out) < t and targets[len(out)] < ts:
                    out.append(held if held is not None else f)
                while len(out) < t and targets[len(out)] == ts:
                    out.append(f)
                held = f
                if len(out) == t:
                    break
            while len(out) < t:
                out.append(held)
            arrays = [x.reformat(width=w, height=h, format="rgb24").to_ndarray() for x in out]
            assert arrays[0].shape == (h, w, 3)
            done += 1
    return done


def main():
    path, t, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    starts = [int(x) for x in sys.argv[5].split(",") if x]
    worker, workers = int(sys.argv[6]), int(sys.argv[7])
    mine = [s for i, s in enumerate(starts) if i % workers == worker]
    t0 = time.perf_counter()
    n = clips(path, mine, t, h, w)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "clips": n}))


main()
