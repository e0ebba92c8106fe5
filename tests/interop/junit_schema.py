"""Validates a JUnit XML file against the JUnit XSD that pytest's own tests use (Jenkins'
junit-10.xsd), read from pytest's source distribution.

usage: junit_schema.py <pytest sdist> <junit.xml>
Prints each violation with its path and exits 1 when there is one.
"""

import sys
import tarfile

import xmlschema

XSD_MEMBER = "testing/example_scripts/junit-10.xsd"


def main() -> int:
    sdist, report = sys.argv[1], sys.argv[2]
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/" + XSD_MEMBER))
        schema = xmlschema.XMLSchema(archive.extractfile(member))
    errors = list(schema.iter_errors(report))
    for error in errors:
        print(f"{error.path}: {error.reason}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
