"""Nicknames, short forms and a few transliterations: which forenames are direct variants.

The relation comes from the maintained ``nicknames`` package (a hand-curated dataset of
English names and nicknames), read in both directions, plus a short supplement of forms common
in UK records that it lacks, and transliterations whose phonetic codes differ (Usman/Osman).
It is deliberately not transitive: Rob is a short form of both Robert and Robin, but Robert
and Robin are different names.
"""

from __future__ import annotations

import functools

__all__ = ["are_nicknames", "related_forenames"]

# Pairs (short form, full name) missing from the package that UK records use.
_SUPPLEMENT: tuple[tuple[str, str], ...] = (
    ("rob", "robert"),
    ("rob", "robin"),
    ("robbie", "robert"),
    ("robbie", "robin"),
    ("bob", "robert"),
    ("jon", "jonathan"),
    ("jonny", "jonathan"),
    ("liz", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("beth", "elizabeth"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("kate", "katherine"),
    ("kate", "catherine"),
    ("katie", "katherine"),
    ("katie", "catherine"),
    ("cath", "catherine"),
    ("kath", "kathleen"),
    ("chris", "christopher"),
    ("chris", "christine"),
    ("chris", "christina"),
    ("nick", "nicholas"),
    ("nicky", "nicola"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("jamie", "james"),
    ("mick", "michael"),
    ("mike", "michael"),
    ("micky", "michael"),
    ("dave", "david"),
    ("davy", "david"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("tony", "anthony"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("gaz", "gary"),
    ("gaz", "gareth"),
    ("lee", "leigh"),
    ("danny", "daniel"),
    ("dan", "daniel"),
    ("sam", "samuel"),
    ("sam", "samantha"),
    ("sammy", "samuel"),
    ("alex", "alexander"),
    ("alex", "alexandra"),
    ("sasha", "alexander"),
    ("sasha", "alexandra"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("liam", "william"),
    ("becky", "rebecca"),
    ("jenny", "jennifer"),
    ("jen", "jennifer"),
    ("vicky", "victoria"),
    ("mo", "mohammed"),
    ("mo", "muhammad"),
    ("mo", "mohammad"),
    ("mo", "mohamed"),
    ("kaz", "karen"),
    ("del", "derek"),
    ("terry", "terence"),
    ("ted", "edward"),
    ("eddie", "edward"),
    ("ed", "edward"),
    ("ollie", "oliver"),
    ("charlie", "charles"),
    ("charlie", "charlotte"),
    # English forms the package lacks or spells differently.
    ("sally", "sarah"),
    ("sally", "sara"),
    ("sal", "sarah"),
    ("becca", "rebecca"),
    ("nikki", "nicola"),
    ("nicky", "nicola"),
    ("tash", "natasha"),
    ("tasha", "natasha"),
    ("lottie", "charlotte"),
    ("chas", "charles"),
    ("daz", "darren"),
    ("shell", "michelle"),
    ("caz", "caroline"),
    ("trish", "patricia"),
    ("tori", "victoria"),
    ("mandy", "amanda"),
    ("steph", "stephanie"),
    ("abi", "abigail"),
    ("jess", "jessica"),
    ("liv", "olivia"),
    ("ellie", "eleanor"),
    ("nell", "eleanor"),
    ("nell", "helen"),
    ("dom", "dominic"),
    ("cal", "callum"),
    ("al", "alan"),
    ("al", "alistair"),
    ("kit", "christopher"),
    # Irish.
    ("paddy", "patrick"),
    ("paddy", "padraig"),
    ("bridie", "bridget"),
    ("shiv", "siobhan"),
    ("sean", "shaun"),
    ("mick", "micheal"),
    # Polish.
    ("kasia", "katarzyna"),
    ("gosia", "malgorzata"),
    ("ola", "aleksandra"),
    ("magda", "magdalena"),
    ("basia", "barbara"),
    ("asia", "joanna"),
    ("kuba", "jakub"),
    ("bartek", "bartlomiej"),
    ("wojtek", "wojciech"),
    ("tomek", "tomasz"),
    ("aga", "agnieszka"),
    ("jurek", "jerzy"),
    ("krzys", "krzysztof"),
    # West African.
    ("bayo", "adebayo"),
    ("tunde", "babatunde"),
    ("femi", "oluwafemi"),
    ("kemi", "oluwakemi"),
    ("dayo", "adedayo"),
    ("tayo", "omotayo"),
    ("yemi", "oluwayemisi"),
    ("funmi", "olufunmilayo"),
    ("segun", "oluwasegun"),
    # South Asian and Arabic.
    ("ibby", "ibrahim"),
    ("ibby", "ebrahim"),
    ("raj", "rajesh"),
    ("raj", "rajinder"),
    ("sunny", "sandeep"),
    ("abdul", "abdullah"),
    # Transliterations that Metaphone keeps apart because it keeps a leading vowel (or
    # reads "th" and "s" differently); the ones it joins (Mohammed/Muhammad) need no entry.
    ("usman", "osman"),
    ("uthman", "usman"),
    ("othman", "osman"),
    ("umar", "omar"),
    ("umer", "omar"),
    ("ibrahim", "ebrahim"),
    ("ismail", "esmail"),
    ("idris", "edris"),
    ("ilyas", "elias"),
    ("osama", "usama"),
    ("ayesha", "aisha"),
    ("ayesha", "aysha"),
)


@functools.cache
def _supplement() -> dict[str, frozenset[str]]:
    related: dict[str, set[str]] = {}
    for short, full in _SUPPLEMENT:
        related.setdefault(short, set()).add(full)
        related.setdefault(full, set()).add(short)
    return {name: frozenset(names) for name, names in related.items()}


@functools.cache
def _package_pairs() -> dict[str, frozenset[str]]:
    """name -> its direct variants, from the package's ``name1,relationship,name2`` rows."""
    import csv
    from importlib.resources import files

    text = (files("nicknames") / "names.csv").read_text(encoding="utf-8")
    related: dict[str, set[str]] = {}
    for row in csv.reader(text.splitlines()[1:]):
        if len(row) != 3:
            continue
        a, b = row[0].strip().lower(), row[2].strip().lower()
        if a and b and a != b:
            related.setdefault(a, set()).add(b)
            related.setdefault(b, set()).add(a)
    return {name: frozenset(names) for name, names in related.items()}


@functools.lru_cache(maxsize=65536)
def related_forenames(name: str | None) -> frozenset[str]:
    """Forenames that are a nickname of ``name`` or of which ``name`` is a nickname.

    ``name`` is one folded, lowercase token (the first token of a standardised forename).
    The result never contains ``name`` itself. The relation is symmetric.
    """
    if not name:
        return frozenset()
    found = _package_pairs().get(name, frozenset()) | _supplement().get(name, frozenset())
    return found - {name}


def are_nicknames(a: str | None, b: str | None) -> bool:
    """Whether two forename tokens are direct variants (Bill and William: yes)."""
    if not a or not b or a == b:
        return False
    return b in related_forenames(a)
