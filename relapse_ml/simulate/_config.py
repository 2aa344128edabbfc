"""User-facing knobs of the simulator (a frozen dataclass with domain-grounded defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from relapse_ml.simulate._params import DISEASES


@dataclass(frozen=True)
class SimulationConfig:
    """Knobs of :func:`simulate_cohort`; defaults follow shared/spec/domain.md.

    Parameters
    ----------
    disease_mix : tuple of (str, float)
        Share of each disease (registry-like: B-ALL and LBCL largest). Renormalised.
    n_sites : int
        Number of treating centres (``SITE01`` ...); each has its own measurement
        bias per marker and its own missingness.
    infusion_start, infusion_end : str
        Infusion dates are spread uniformly over this ISO date range.
    data_cut : str
        Administrative data cut: follow-up ends at ``data_cut - infusion_date``.
    max_follow_up_days : int
        Hard cap on follow-up (the contract's last measurement day is 3650).
    dropout_per_year : float
        Yearly hazard of loss to follow-up (moved away, withdrew, transferred back to
        the referring centre). Non-relapse death is simulated as its own competing
        event, not as censoring.
    early_dropout_prob : float
        Probability of leaving follow-up in the first 60 days (transfer back home).
    missed_visit_prob : float
        Probability that a scheduled visit is missed (centre-modulated).
    replicate_prob : float
        Probability that a measurement is repeated the same day (a replicate row).
    lab_log_sd : float
        Log-normal analytic noise of routine labs and flow percentages.
    qpcr_log_sd : float
        Log-normal noise of transgene qPCR (Stein 2019 residual SD 0.56 incl. model error).
    site_bias_sd : float
        SD of a centre's log-multiplicative bias per marker.
    site_missing_sd : float
        SD (logit scale) of a centre's shift in missingness.
    patient_missing : tuple of (str, float)
        Base missing rate of optional patient columns.
    unknown_antigen_prob : float
        Share of relapses whose antigen status was not tested or not reported
        (``relapse_antigen = unknown``), drawn independently of everything else, i.e.
        missing completely at random (hence at random given the covariates). Default
        0.12, a registry-level guess: domain.md has no direct figure; research cohorts
        report fewer unknowns (Lamble 2023: 83 CD19+ / 68 CD19- / 12 lineage switch of
        166 relapses, so about 2 % unclassified; ELIANA's 22 relapses are counted "with
        known CD19 status"), and in lymphoma the kind is known only when the
        progression is biopsied (ZUMA-1: 21 biopsies at progression).
    lloq : tuple of (str, float)
        Lower limit of quantification per marker (catalogue unit); a lower value is
        reported with qualifier ``<`` and value = LLOQ.
    early_visits, late_visits : tuple of int
        Nominal visit days (Stein/KarMMa-3 style dense early sampling, then monthly,
        3-monthly and yearly).
    """

    disease_mix: tuple[tuple[str, float], ...] = (
        ("B-ALL", 0.22),
        ("LBCL", 0.42),
        ("FL", 0.08),
        ("MCL", 0.09),
        ("CLL", 0.06),
        ("MM", 0.13),
    )
    n_sites: int = 12
    infusion_start: str = "2016-01-01"
    infusion_end: str = "2025-06-30"
    data_cut: str = "2025-12-31"
    max_follow_up_days: int = 3650
    dropout_per_year: float = 0.04
    early_dropout_prob: float = 0.02
    missed_visit_prob: float = 0.12
    replicate_prob: float = 0.02
    lab_log_sd: float = 0.15
    qpcr_log_sd: float = 0.3
    site_bias_sd: float = 0.08
    site_missing_sd: float = 0.5
    patient_missing: tuple[tuple[str, float], ...] = (
        ("site", 0.0),
        ("infusion_date", 0.01),
        ("sex", 0.02),
        ("prior_lines", 0.04),
        ("bridging_therapy", 0.05),
        ("ldh_u_per_l", 0.06),
        ("marrow_blasts_pct", 0.08),
        ("metabolic_tumor_volume_ml", 0.15),
        ("car_dose_per_kg", 0.05),
        ("product_cd4_cd8_ratio", 0.2),
        ("product_memory_pct", 0.2),
        ("product_pd1_pct", 0.25),
        ("product_tim3_pct", 0.25),
        ("product_lag3_pct", 0.25),
        ("vein_to_vein_days", 0.08),
        ("antigen_pos_pct", 0.12),
        ("antigen_density", 0.25),
        ("antigen_splice_variant_pct", 0.35),
        ("treg_pct_cd4", 0.2),
        ("mdsc_pct_pbmc", 0.2),
        ("tgfb_pg_ml", 0.3),
        ("il10_pg_ml", 0.3),
        ("crs_grade", 0.02),
        ("icans_grade", 0.02),
        ("tocilizumab", 0.03),
        ("steroid_dex_mg", 0.05),
    )
    unknown_antigen_prob: float = 0.12  # registry guess; Lamble 2023 (domain.md 2.1): ~2 %
    lloq: tuple[tuple[str, float], ...] = (
        ("car_transgene", 50.0),
        ("car_t_cells", 1.0),
        ("b_cells", 1.0),
        ("mrd_pct", 0.001),
        ("antigen_density", 100.0),
        ("il6_pg_ml", 1.5),
        ("il10_pg_ml", 1.0),
        ("tgfb_pg_ml", 50.0),
        ("ferritin_ng_ml", 5.0),
        ("crp_mg_l", 0.5),
    )
    early_visits: tuple[int, ...] = (-7, 0, 3, 7, 10, 14, 21, 28)
    late_visits: tuple[int, ...] = (
        60, 90, 120, 180, 270, 365, 545, 730, 1095, 1460, 1825, 2190, 2555, 2920, 3285, 3650,
    )  # fmt: skip

    def __post_init__(self) -> None:
        names = [d for d, _ in self.disease_mix]
        unknown = set(names) - set(DISEASES)
        if unknown:
            raise ValueError(f"disease_mix names unknown diseases {sorted(unknown)}")
        if any(w < 0 for _, w in self.disease_mix) or sum(w for _, w in self.disease_mix) <= 0:
            raise ValueError("disease_mix weights must be >= 0 with a positive sum")
        if self.n_sites < 1 or self.n_sites > 99:
            raise ValueError("n_sites must be between 1 and 99")
        names = (
            "missed_visit_prob",
            "replicate_prob",
            "early_dropout_prob",
            "unknown_antigen_prob",
        )
        for name in names:
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")

    def disease_weights(self) -> dict[str, float]:
        """Normalised disease shares keyed by disease name."""
        total = sum(w for _, w in self.disease_mix)
        return {d: w / total for d, w in self.disease_mix}
