"""Licence, citation and third-party notices: the workflow is MIT, cites the CLIPPINGS paper, and THIRD_PARTY.md
names every package install.sh brings in and every licence of the news_wire photographs."""

import re

import pandas as pd
import yaml

from helpers import REPO


def apt_packages():
    """The APT_PACKAGES array of install.sh (comments dropped)."""
    text = (REPO / "install.sh").read_text()
    body = re.search(r"APT_PACKAGES=\((.*?)\)", text, re.S).group(1)
    return [word for line in body.splitlines() for word in line.split("#")[0].split()]


def test_licence_is_mit_with_the_copyright_line():
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the clippings-workflow authors" in text
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_citation_cites_the_paper_and_the_original_code():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert "2304.03464" in paper["doi"] and "2304.03464" in paper["url"]
    assert paper["title"] == "Linking Representations with Multimodal Contrastive Learning"
    assert [(a["given-names"], a["family-names"]) for a in paper["authors"]] == [
        ("Abhishek", "Arora"), ("Xinmei", "Yang"), ("Shao-Yu", "Jheng"), ("Melissa", "Dell")]  # fmt: skip
    assert paper["year"] == 2023
    assert any(ref.get("repository-code") == "https://github.com/dell-research-harvard/clippings"
               for ref in cff["references"])  # fmt: skip


def test_third_party_names_every_apt_package_install_sh_installs():
    notices = (REPO / "THIRD_PARTY.md").read_text()
    packages = apt_packages()
    assert {"fonts-noto-cjk", "mate-backgrounds", "lomiri-wallpapers-20.04"} <= set(packages)  # the parse worked
    missing = [p for p in packages if f"`{p}`" not in notices]
    assert not missing, f"THIRD_PARTY.md does not name {missing}"


def test_third_party_names_every_photograph_licence_and_author():
    notices = (REPO / "THIRD_PARTY.md").read_text()
    pictures = pd.read_csv(REPO / "results" / "reference" / "news_wire" / "pictures.csv")
    assert len(pictures) > 0
    for licence in sorted(set(pictures["licence"])):
        assert re.search(rf"\| {re.escape(licence)} \|", notices), f"licence {licence} missing"
    for row in pictures.itertuples():
        assert f"| {row.picture} | `{row.package}` | {row.licence} | {row.author} |" in notices, row.picture
