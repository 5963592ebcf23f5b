"""The composition root: the one place that builds the Application, its handlers, jobs and errors."""

from __future__ import annotations

import json

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.services import lockdown as lockdown_service
from bot.services.buttons import TOKEN_PATTERN
from bot.services.limits import InboundLimiter
from handlers import (
    board,
    buttons,
    commands_menu,
    common,
    coordinator,
    facilities,
    family,
    flows,
    lockdown,
    members,
    needs,
    partners,
    plan_edits,
    prisoners,
    reports,
    run_details,
    run_reports,
    runs,
)
from handlers.context import BotContext, Runtime
from handlers.errors import on_error
from handlers.gate import gate
from handlers.ordering import PerPersonOrder
from handlers.transport import AiohttpRequest
from schedules import jobs as due_work
from storage.store import Store

PARTNER_MESSAGES_PER_HOUR = 30  # two people arranging a handover; more is a flood, not a conversation


def make_runtime(config: Config, store: Store, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock()
    limiter = InboundLimiter(
        clock,
        {
            "command": (config.commands_per_minute, 60.0),
            "list_view": (config.list_views_per_hour, 3600.0),
            "claim": (config.claims_per_day, 86400.0),
            "bad_code": (config.bad_codes_per_hour, 3600.0),
            "partner_message": (PARTNER_MESSAGES_PER_HOUR, 3600.0),
        },
    )
    return Runtime(config=config, store=store, clock=clock, limiter=limiter, bot_username=config.bot_username)


def file_url_for(api_base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (also for self-hosted servers)."""
    head, _, _ = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/bot"


# Each role's module exposes COMMANDS (command -> callback), ACTIONS (button action -> callback) and
# optionally FLOWS (conversation name -> steps). Add a module here and its commands exist.
FEATURE_MODULES = (common, coordinator, members, lockdown, facilities, prisoners, needs, family, runs, reports,
                   run_details, run_reports, partners, plan_edits, board)


def register_handlers(application: Application) -> None:
    """The handler table: the gate first, then every module's commands, buttons, text and fallbacks."""
    application.add_handler(TypeHandler(Update, gate), group=-1)
    private = filters.ChatType.PRIVATE
    commands = []
    for module in FEATURE_MODULES:
        for command, callback in module.COMMANDS.items():
            commands.append(CommandHandler(command, callback, filters=private))
        buttons.register_actions(getattr(module, "ACTIONS", {}))
        flows.register_flows(getattr(module, "FLOWS", {}), getattr(module, "FLOW_ROLES", {}),
                             getattr(module, "FLOW_CANCELLED", {}))
    application.add_handlers(
        [
            *commands,
            CallbackQueryHandler(buttons.dispatch, pattern=TOKEN_PATTERN),
            MessageHandler(filters.TEXT & ~filters.COMMAND & private, common.text),
            MessageHandler(filters.ALL, common.fallback),
            CallbackQueryHandler(common.fallback),
        ]
    )
    application.add_error_handler(on_error)


RECENT_KEY = "recent_messages"


async def keep_recent_for_restart(application: Application) -> None:
    """On a clean stop, after the last update: the recent message ids (handlers/recent.py), sealed, so a
    /panic or a freeze soon after a deploy or a reboot still deletes what came before it. Read and
    deleted by the next start."""
    runtime: Runtime = application.bot_data["runtime"]
    saved = runtime.recent.export()
    if saved:
        async with runtime.store.write() as uow:
            await uow.meta.set_sealed(RECENT_KEY, json.dumps(saved, separators=(",", ":")))


async def _post_init(application: Application) -> None:
    runtime: Runtime = application.bot_data["runtime"]
    runtime.extras["lockdown"] = await lockdown_service.is_on(runtime.store)
    if not runtime.bot_username:
        runtime.bot_username = application.bot.username
    # Remembered (sealed) so `parcelbot invite` can print a full link without reaching Telegram.
    async with runtime.store.write() as uow:
        if await uow.meta.get_sealed("bot_username") != runtime.bot_username:
            await uow.meta.set_sealed("bot_username", runtime.bot_username)
        recent = await uow.meta.take_sealed(RECENT_KEY)
    if recent is not None:  # what the last clean stop kept (keep_recent_for_restart)
        runtime.recent.load(json.loads(recent))
    # Strangers' menu (only /start), and members' menus if the commands or translations changed.
    await commands_menu.install(application)
    # Scheduled work lives in rows: run what fell due while the bot was down, then poll every 30 s.
    await due_work.install(application)


def build_application(
    runtime: Runtime, *, rate_limiter: bool = True, application_class: type[Application] = Application
) -> Application:
    config = runtime.config
    builder = (
        ApplicationBuilder()
        .application_class(application_class)
        .token(config.require_token().value)
        .base_url(config.api_base_url)
        .base_file_url(file_url_for(config.api_base_url))
        .context_types(ContextTypes(context=BotContext))
        # protect_content by default: nothing the bot sends can be forwarded or saved by the client.
        .defaults(Defaults(protect_content=True, tzinfo=config.tz))
        # aiohttp instead of httpx: half the CPU per Bot API call (handlers/transport.py).
        # Both note the message ids they see, so /panic and a freeze can delete the last 47 h of a chat.
        .request(AiohttpRequest(pool_size=64, on_result=runtime.recent.observe))
        .get_updates_request(AiohttpRequest(pool_size=1, on_result=runtime.recent.observe))
        # Different people's updates at once, each person's in order (handlers/ordering.py).
        .concurrent_updates(PerPersonOrder())
        .post_init(_post_init)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data["runtime"] = runtime
    register_handlers(application)
    return application
