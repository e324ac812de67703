import sys

if sys.argv[1:] == ["--version"]:
    # Answered before anything heavy is imported: the executables start this way too.
    from tftsr import __version__

    print(f"TFTSR {__version__}")
    raise SystemExit(0)

from tftsr.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
