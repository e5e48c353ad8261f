"""Population work: one columnar kernel, two runners (embedded Polars, Spark).

records (NDJSON / Parquet / registry) -> layout (Arrow/Polars, one row per patient)
    -> kernel.compute_facts (one row of facts per patient; same knowledge as assess)
    -> worklist.worklist_rows  (patient_id, queue, reason, due, priority)
    -> kpi.indicators          (IOF Capture the Fracture / FLS-DB / treat-to-target)
"""

from osteotarget.population.runner import PopulationResult, load_frame, run_population

__all__ = ["PopulationResult", "load_frame", "run_population"]
