"""The economy as arrays: many runs stepped together by pure phase functions.

- :mod:`sim.economy.params`: the frozen parameters and levers of a batch of runs;
- :mod:`sim.economy.state`: the state that a step changes, arrays with a leading run axis;
- :mod:`sim.economy.build`: both from validated scenarios and seeds;
- :mod:`sim.economy.phases`: the step, one function per mechanism;
- :mod:`sim.economy.clearing`: the market-clearing rules the phases use;
- :mod:`sim.economy.payments`: every payment as one entry of a flow array;
- :mod:`sim.economy.trace`: the per-step record of a batch, and its tables;
- :mod:`sim.economy.engine`: run a batch to the end of its horizon.

A single run is a batch of one.
"""
