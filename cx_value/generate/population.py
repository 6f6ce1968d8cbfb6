"""Customers and their fixed attributes: type, segment, acquisition, names, devices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cx_value.generate.params import Params
from cx_value.generate.timeline import Timeline

SEGMENTS = ("enterprise", "smb", "consumer")
CHANNELS = ("organic", "paid_search", "social", "referral", "partner", "events")
REFERRAL_CHANNEL = CHANNELS.index("referral")
COUNTRIES = ("FI", "SE", "EE", "DE", "NO")
FIRST_NAMES = (
    "Aino", "Eino", "Helmi", "Onni", "Lumi", "Vaino", "Sisu", "Kerttu", "Toivo", "Ilona",
    "Ukko", "Saima", "Pekka", "Kaisu", "Lauri", "Venla", "Aarni", "Iida", "Oiva", "Selma",
)
LAST_NAMES = (
    "Testinen", "Esimerkki", "Malli", "Demola", "Kokeilu", "Harjoitus", "Luonnos", "Otos",
    "Kuvitelma", "Keksitty", "Mallinen", "Esitys", "Koelainen", "Tyhjola", "Nimeton",
)
ACCOUNT_WORDS = (
    "Aurora", "Pohjola", "Kallio", "Revontuli", "Sampo", "Tammi", "Kuusi", "Koivu", "Jarvi",
    "Tunturi", "Saari", "Virta", "Kivi", "Lahti", "Meri",
)
ACCOUNT_KINDS = ("Logistics", "Software", "Foods", "Energy", "Retail", "Health", "Media",
                 "Build", "Travel", "Finance")
SALES_REPS = 40


@dataclass
class Population:
    """Per-customer arrays, index i is customer ``c{i+1:07d}`` (ordered by acquisition)."""

    n: int
    created: np.ndarray  # int64 seconds
    is_b2b: np.ndarray  # bool
    segment: np.ndarray  # int8 code into SEGMENTS
    band: np.ndarray  # int8 0 worst, 1 middle, 2 best; -1 until assigned
    channel: np.ndarray  # int8 code into CHANNELS
    country: np.ndarray  # int8 code into COUNTRIES
    owner: np.ndarray  # int16 sales rep number, 0 for none
    first_name: np.ndarray  # int16 code (consumers' own name)
    last_name: np.ndarray
    account_word: np.ndarray
    account_kind: np.ndarray
    alive_until: np.ndarray  # int64 seconds: end of the relationship (history end if active)


def build_population(n: int, params: Params, timeline: Timeline,
                     rng: np.random.Generator) -> Population:
    """Draw ``n`` customers acquired uniformly over the acquisition period."""
    created = np.sort(rng.integers(timeline.start_s, timeline.acquisition_end_s, size=n))
    is_b2b = rng.random(n) < params.b2b_share
    segment = np.where(is_b2b, np.where(rng.random(n) < params.enterprise_share_of_b2b, 0, 1),
                       2).astype(np.int8)
    band_b2b = rng.choice(3, size=n, p=np.asarray(params.band_shares)).astype(np.int8)
    band = np.where(is_b2b, band_b2b, -1).astype(np.int8)

    b2b_channels = np.array([0.25, 0.20, 0.10, 0.0, 0.25, 0.20])
    b2c_channels = np.array([0.35, 0.30, 0.30, 0.0, 0.05, 0.0])
    u = rng.random(n)
    channel = np.where(
        is_b2b,
        np.searchsorted(np.cumsum(b2b_channels), u * b2b_channels.sum(), side="right"),
        np.searchsorted(np.cumsum(b2c_channels), u * b2c_channels.sum(), side="right"),
    ).astype(np.int8)
    country = rng.choice(len(COUNTRIES), size=n, p=[0.6, 0.15, 0.1, 0.1, 0.05]).astype(np.int8)
    owner = np.where(is_b2b, rng.integers(1, SALES_REPS + 1, size=n), 0).astype(np.int16)
    return Population(
        n=n,
        created=created.astype(np.int64),
        is_b2b=is_b2b,
        segment=segment,
        band=band,
        channel=channel,
        country=country,
        owner=owner,
        first_name=rng.integers(0, len(FIRST_NAMES), size=n).astype(np.int16),
        last_name=rng.integers(0, len(LAST_NAMES), size=n).astype(np.int16),
        account_word=rng.integers(0, len(ACCOUNT_WORDS), size=n).astype(np.int16),
        account_kind=rng.integers(0, len(ACCOUNT_KINDS), size=n).astype(np.int16),
        alive_until=np.full(n, timeline.end_s, dtype=np.int64),
    )


@dataclass
class Referrals:
    """Who referred whom (customer indices) and when."""

    referrer: np.ndarray
    referred: np.ndarray
    referred_at: np.ndarray
    channel: np.ndarray  # code into REFERRAL_CHANNELS


REFERRAL_CHANNELS = ("referral_link", "word_of_mouth", "partner_program")


def draw_referrals(pop: Population, params: Params, rng: np.random.Generator) -> Referrals:
    """Mark ~referral_share of customers as referred; choose referrers among earlier customers.

    Referrers are chosen with weights by band (best band more likely) among customers
    acquired before the referred one.
    """
    n = pop.n
    referred = np.flatnonzero((rng.random(n) < params.referral_share) & (np.arange(n) >= 10))
    weights = np.asarray([params.referrer_band_weight[b] for b in ("worst", "middle", "best")])
    w = weights[pop.band]
    cum = np.cumsum(w)
    # customers are ordered by created; the referrer is among indices < referred
    target = rng.random(referred.size) * cum[referred - 1]
    referrer = np.searchsorted(cum, target, side="right")
    referrer = np.minimum(referrer, referred - 1)
    pop.channel[referred] = REFERRAL_CHANNEL
    channel = rng.choice(3, size=referred.size, p=[0.5, 0.35, 0.15]).astype(np.int8)
    return Referrals(referrer=referrer, referred=referred,
                     referred_at=pop.created[referred].copy(), channel=channel)
