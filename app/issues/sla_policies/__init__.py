"""SLA policy administration (时限标准): the table of respond / resolve windows an issue takes
its deadlines from (see :func:`app.issues.sla.pick_policy`), read by managers and replaced whole
by admins."""
