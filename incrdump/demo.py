"""Placeholder for ``scripts/demo`` (run as ``python -m incrdump.demo``)."""


def main():
    """Say that the demo does not exist yet."""
    print("demo not written yet")


if __name__ == "__main__":
    main()
