"""Front ends for analysts at scale: columnar evaluation, tables, sweeps, the Dask engine."""
