"""agent: memory blocks, agent state, messages, models, the step engine, storage and the client.

The ``selfedit`` command line lives here too (``agent._cli``), above ``toolkit`` and
``stdlib_tools`` in the import order, so it can grow into the agent's CLI.
"""

__all__: list[str] = []
