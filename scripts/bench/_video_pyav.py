"""PyAV side of scripts/bench/video.ts: decodes the same clips as MX8 (frame
shown at each target time, after a seek to the keyframe before the clip),
scaled to H x W RGB24, and prints one JSON line with the wall time."""
import io
import json
import sys
import time

import av


def clip(data, starts_frames, t, h, w):
    frames = []
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        s.thread_type = "SLICE"
        s.codec_context.thread_count = 1
        tb = s.time_base
        rate = s.average_rate
        for start in starts_frames:
            targets = [int(round((start + i) / rate / tb)) for i in range(t)]
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
            frames.append([x.reformat(width=w, height=h, format="rgb24").to_ndarray() for x in out])
    return frames


def main():
    path, t, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    starts = [int(x) for x in sys.argv[5].split(",")]
    data = open(path, "rb").read()
    t0 = time.perf_counter()
    got = clip(data, starts, t, h, w)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "clips": len(got), "shape": list(got[0][0].shape)}))


main()
