"""The Admin CLI (`cli.md` §2): access control, the admin password, validated comment-preserving config
edits, connection tests, status, service control and lockout clearing.

Every menu entry and every subcommand runs the same function of `actions`; `menus` only asks for the
arguments a subcommand would take as flags.
"""
