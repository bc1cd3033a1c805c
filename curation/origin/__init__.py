"""Which side of the real:synthetic guarantee each record counts on.

* :mod:`.core`     the origin rule (``decide_origin``) and ``decided_record``: pure, no Beam
* :mod:`.options`  ``OriginOptions``: the detector's threshold and the user's assumption
* :mod:`.transforms` ``DecideOrigin``: the one step that applies the rule, after scoring
"""
