"""Sync the subtitle in the spoken language, then carry its timing to a second language
timed like it (the same release's French track, say): offset, drift and cuts carry over.

    python examples/second_language.py movie.mkv movie.en.srt movie.fr.srt
"""

import sys

import subsync


def main(media: str, spoken: str, other: str) -> None:
    result = subsync.sync(media, spoken)  # heard line by line
    result.save(spoken.removesuffix(".srt") + ".synced.srt")
    carried = result.apply(other)  # moved by the same time map
    carried.save(other.removesuffix(".srt") + ".synced.srt")
    print(
        f"map: scale {result.time_map.scale:.5f}, offset {result.time_map.offset_s:+.3f} s, "
        f"{len(result.time_map.cuts)} cut(s); applied to {len(carried.lines)} lines of {other}"
    )


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except subsync.SubsyncError as error:
        sys.exit(f"error: {error}")
