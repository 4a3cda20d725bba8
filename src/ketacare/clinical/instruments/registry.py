"""Every scale KetaCare scores, by its lowercase code."""

from __future__ import annotations

from ketacare.clinical.instruments.base import Instrument
from ketacare.clinical.instruments.cadss import CADSS
from ketacare.clinical.instruments.cssrs_screen import CSSRS_SCREEN
from ketacare.clinical.instruments.epds import EPDS
from ketacare.clinical.instruments.gad7 import GAD7
from ketacare.clinical.instruments.madrs import MADRS
from ketacare.clinical.instruments.pcl5 import PCL5
from ketacare.clinical.instruments.phq9 import PHQ9
from ketacare.clinical.instruments.qids_sr16 import QIDS_SR16

INSTRUMENTS: dict[str, Instrument] = {
    i.code: i for i in (PHQ9, GAD7, EPDS, PCL5, QIDS_SR16, MADRS, CADSS, CSSRS_SCREEN)
}
CODES = tuple(INSTRUMENTS)


class UnknownInstrument(KeyError):
    def __str__(self) -> str:
        return f"unknown scale {self.args[0]!r} (known: {', '.join(CODES)})"


def get(code: str) -> Instrument:
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise UnknownInstrument(code) from None
