"""Issues (诉求 / 工单), from report to the resident's rating. Where each rule lives:

- ``workflow.py``: the state machine as a table (statuses, actions, who may take them);
- ``intake.py``: filing an issue (prepare, insert, create) and edits before dispatch;
  ``routing.py``: where a new issue lands in the area tree, for every channel;
- ``actions.py``: the action context, the rules on top of the table, one handler per action;
- ``deadlines.py``: where deadlines are set and moved; ``sla.py``: the business clock, the
  holiday calendar and the policy lookup; ``sla_policies/``: administering the policy table;
- ``timeline.py``: timeline events with their change-feed entries and outbox payloads;
- ``presenter.py``: the one issue response, rendered straight to JSON;
- ``reading.py``: finding an issue in scope; ``repository.py``: the SQL (SLA state beside its
  SQL twin);
- ``feedback.py``: the resident's one-time 回访 link; ``comments.py``: comments and attachments;
- ``reactions.py``: where other domains hook into closing and reopening (the diary does);
- ``sync_feed.py``: issues in the offline-sync feed; ``export.py``: CSV and Excel exports.
"""
