"""Small domain errors that handlers turn into short, kind replies."""


class DomainError(Exception):
    """Base: something the person can be told about in one sentence."""


class InviteInvalid(DomainError):
    """Unknown, used, expired or malformed code. Deliberately one error for all four."""


class InviteNotNow(InviteInvalid):
    """A good code for a role not taken now (lockdown): the same answer, but not a wrong guess."""


class NotAllowed(DomainError):
    """The member's role or status does not allow this, or the object is not theirs."""


class NotFound(DomainError):
    """The object is gone (erased, released, withdrawn)."""


class LastCoordinator(DomainError):
    """Refused: this would leave the bot with no active coordinator."""


class Throttled(DomainError):
    """Too many requests of one kind in a short time."""


class RunNotOpen(DomainError):
    """The run is not published, already started, or gone."""


class RunFull(DomainError):
    """Every place on the run is taken."""


class AlreadyClaimed(DomainError):
    """The member already holds a place on this run."""


class ClaimCapReached(DomainError):
    """The member holds as many live claims as allowed."""


class RunTooBig(DomainError):
    """A change to the plan would make one run more than one volunteer can carry (the planner's limits),
    or put more runs in one handover window than the planner would."""
