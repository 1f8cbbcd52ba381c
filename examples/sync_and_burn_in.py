"""Sync a subtitle, then burn it into the video with ffmpeg (the same ffmpeg subsync uses).

python examples/sync_and_burn_in.py movie.mp4 movie.srt movie.subtitled.mp4
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import subsync
from subsync.media import ffmpeg_binary


def main(video: str, subs: str, out: str) -> None:
    result = subsync.sync(video, subs)
    with tempfile.TemporaryDirectory() as tmp:
        synced = Path(tmp) / "synced.srt"
        result.save(synced)
        # The subtitles filter needs its path escaped for ffmpeg's filter syntax.
        escaped = str(synced).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
        subprocess.run(
            [
                ffmpeg_binary(),
                "-y",
                "-loglevel",
                "error",
                "-i",
                video,
                "-vf",
                f"subtitles='{escaped}'",
                "-c:a",
                "copy",
                out,
            ],
            check=True,
        )
    print(f"wrote {out} (offset {result.time_map.offset_s:+.3f} s, {result.counts()['retimed']} lines re-timed)")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except subsync.SubsyncError as error:
        sys.exit(f"error: {error}")
