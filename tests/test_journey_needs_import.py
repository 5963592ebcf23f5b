"""`parcelbot facilities import`: the shipped example loads, a second import updates, bad entries are named."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.services.facilities import ImportInvalid, import_facilities, parse_import
from tests.conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "facilities.toml"


def _cli(config, *args):
    env = {**os.environ, "PARCELBOT_DATA_DIR": str(config.data_dir), "PARCELBOT_PASSPHRASE": PASSPHRASE}
    env.pop("PARCELBOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


async def test_the_example_file_imports_and_a_second_import_updates_instead_of_duplicating(store, config):
    await store.db.checkpoint()
    first = _cli(config, "facilities", "import", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    assert "4 added, 0 updated" in first.stdout
    second = _cli(config, "facilities", "import", str(EXAMPLE))
    assert second.returncode == 0 and "0 added, 4 updated" in second.stdout
    async with store.read() as uow:
        # The CLI runs on the system clock: read the latest version whatever the test clock says.
        facilities = {facility.name: facility for facility in await uow.facilities.list(date.max)}
        areas = {area.id: area.name for area in await uow.areas.list()}
    assert set(facilities) == {"SIZO-1 Minsk (Valadarka)", "TsIP Akrestsin", "IK-4 Gomel", "IK-24 Zarechye"}
    assert all(f.rules.verify_locally and "verify locally" in f.rules.notes for f in facilities.values())
    ik4 = facilities["IK-4 Gomel"]
    assert areas[ik4.area_id] == "Gomel" and ik4.rules.goods_parcel_only_categories == ("hygiene",)
    assert ik4.rules.parcels_per_year_by_regime == {"general": 6, "strict": 4}
    akrestsin = facilities["TsIP Akrestsin"].rules
    assert akrestsin.relatives_only and akrestsin.passport_recorded
    assert [(w.weekday, w.start, w.end) for w in akrestsin.windows] == [(5, "10:00", "17:00")]
    assert facilities["SIZO-1 Minsk (Valadarka)"].rules.kg_per_month == 30
    assert sorted(set(areas.values())) == ["Gomel", "Gomel region", "Minsk"]


@pytest.mark.parametrize(("entry", "message"), [
    ('name = "X1"\nkind = "jail"\narea = "Minsk"\naddress = "Street 1"', "key kind"),
    ('name = "X1"\nkind = "sizo"\narea = "Minsk"\naddress = "Street 1"\nkg_per_month = 0', "key kg_per_month"),
    ('name = "X1"\nkind = "sizo"\narea = "Minsk"\naddress = "Street 1"\nrefused_categories = ["pizza"]',
     "key refused_categories"),
    ('name = "X1"\nkind = "sizo"\narea = "Minsk"\naddress = "Street 1"\nwindows = [{days = ["mon"], hours = "9-1"}]',
     "key windows.hours"),
    ('name = "X1"\nkind = "sizo"\narea = "Minsk"\naddress = "Street 1"\ncolour = "red"', "key colour"),
    ('kind = "sizo"\narea = "Minsk"\naddress = "Street 1"', "key name"),
])
def test_a_bad_entry_is_named_with_its_key(entry, message):
    import tomllib

    document = tomllib.loads('[[facility]]\nname = "Fine"\nkind = "sizo"\narea = "A1"\naddress = "Street 2"\n'
                             f"\n[[facility]]\n{entry}\n")
    with pytest.raises(ImportInvalid) as raised:
        parse_import(document)
    assert message in str(raised.value) and "entry 2" in str(raised.value)


async def test_a_bad_file_exits_2_and_imports_nothing(store, config, tmp_path):
    await store.db.checkpoint()
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text() + '\n[[facility]]\nname = "IK-99"\nkind = "colony"\narea = "Minsk"\n'
                   'address = "Somewhere 1"\nplaces = 3\n')
    result = _cli(config, "facilities", "import", str(bad))
    assert result.returncode == 2
    assert "IK-99" in result.stderr and "places" in result.stderr
    async with store.read() as uow:
        assert await uow.facilities.list() == []


async def test_import_is_one_transaction_for_the_service_too(store, clock):
    import tomllib

    entries = parse_import(tomllib.loads(EXAMPLE.read_text()))
    assert await import_facilities(store, entries, clock.now().date()) == (4, 0)
    assert await import_facilities(store, entries[:1], clock.now().date()) == (0, 1)
