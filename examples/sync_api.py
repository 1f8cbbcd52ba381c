"""Sync a subtitle file from Python and look at what happened to each line.

python examples/sync_api.py examples/sonnet001.mp3 examples/sonnet001.mistimed.srt
"""

import sys

import subsync


def main(media: str, subs: str) -> None:
    result = subsync.sync(media, subs, language="en")  # any SyncOptions field works here
    m = result.time_map
    print(f"map: media = {m.scale:.5f} x subtitle {m.offset_s:+.3f} s; {result.counts()}")
    for cue, line in zip(result.cues, result.lines):
        print(f"{line.action:8s} {line.confidence:.2f} {cue.start_s:7.2f} {cue.end_s:7.2f}  {cue.text.splitlines()[0]}")
    out = subs.removesuffix(".srt") + ".synced.srt"
    result.save(out)  # atomic; encoding and line endings kept
    print("wrote", out)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:3])
    except subsync.SubsyncError as error:  # bad input: one-line message
        sys.exit(f"error: {error}")
