"""Deterministic demo raw data with a planted, recorded truth.

``generate()`` writes the raw tables of the contract (CRM, surveys, web) as text files
and ``_truth/`` beside them: the parameters planted and the values realised on the
clean data, for tests and for checking the warehouse's marts.
``generate_contract_book()`` writes a telecom/SaaS contract book (customers and
subscriptions, optionally their invoices) with planted per-plan retention.
"""

from cx_value.generate.contract_book import generate_contract_book
from cx_value.generate.core import GenerationSummary, generate
from cx_value.generate.params import Params

__all__ = ["GenerationSummary", "Params", "generate", "generate_contract_book"]
