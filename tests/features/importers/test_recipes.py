"""The reproduction recipes: each head README prints exactly the recipe's commands, and each recipe runs end to end
on its synthetic stand-in files (``bsp-lightning features example``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bsp_lightning.features.importers.cli import main
from bsp_lightning.features.importers.recipes import RECIPES, run_recipe

HEADS = Path(__file__).resolve().parents[3] / "heads"


def _readme_commands(head: str) -> set[str]:
    text = (HEADS / head / "README.md").read_text()
    section = text.split("## Reproduce the official result", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return {" ".join(line.split()) for block in blocks for line in block.replace("\\\n", " ").splitlines()
            if line.startswith("bsp-lightning")}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_readme_prints_the_recipe(name):
    recipe = RECIPES[name]
    printed = _readme_commands(recipe.head)
    for command in recipe.commands:
        assert command in printed, f"heads/{recipe.head}/README.md lacks: {command}"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_runs_on_its_stand_in_files(name, tmp_path):
    results = run_recipe(name, tmp_path, epochs=1, echo=lambda line: None)
    assert results and all(0.0 <= v <= 1.0 for v in results.values())
    features = [c.split("--out ")[1].split()[0] for c in RECIPES[name].commands if " import " in c][0]
    manifest = (tmp_path / features / "manifest.json").read_text()
    assert '"imported": true' in manifest


def test_example_command_lists_recipes_and_rejects_unknown_ones(capsys):
    with pytest.raises(SystemExit):
        main(["example", "nope", "--out", "x"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["example", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in RECIPES)
