"""The inbound HTTP API: download scripts report request states; monitors read /healthz.

`body` checks what a script sends, `api` is the aiohttp application (token
check, routes, error answers), `server` runs it on `[http] listen`. The bot
wires it (`cogs.http_api`); nothing here knows Discord.
"""
