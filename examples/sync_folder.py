"""Sync every episode of a folder with one model, from Python (what `subsync batch` does).

python examples/sync_folder.py ~/Videos/Show/Season1 [--fast]
"""

import sys
from pathlib import Path

import subsync
from subsync.batch import find_pairs, output_for


def main(folder: str, *flags: str) -> int:
    found = find_pairs([Path(folder)], recursive=True)
    synchronizer = subsync.Synchronizer(fast="--fast" in flags)  # the model loads once, when needed
    failed = 0
    for pair in found.pairs:
        try:
            result = synchronizer.sync(pair.media, pair.subs)
        except subsync.RefusedError as refused:  # another episode, no speech...
            print(f"refused  {pair.subs}: {refused}")
            continue
        except subsync.SubsyncError as error:  # a broken file: go on
            print(f"failed   {pair.subs}: {error}")
            failed += 1
            continue
        out = output_for(pair)
        result.save(out)
        print(
            f"synced   {out}: offset {result.time_map.offset_s:+.2f} s, {len(result.time_map.cuts)} cut(s), "
            f"{result.counts()['retimed']} lines re-timed"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
