"""The backend service (``mach serve``): a durable ZeroMQ job server in front of warm pipelines.

Not a paper stage: how the Unreal editor, level scripts and other tools reach the pipeline
(Mach's "API for Unreal"). ``protocol`` is the wire format (standard library only), ``messages``
its schemas, ``store`` the SQLite job queue, ``server`` the broker, ``worker`` a warm pipeline
process, ``keys`` the CurveZMQ keys; the client is :mod:`machcreator.client`.
"""
