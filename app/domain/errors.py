"""The one error type the domain raises; views turn it into a flash message or a 4xx body."""


class DomainError(Exception):
    """A business rule was broken. ``message`` is Chinese and says what to fix.

    ``field`` names the input at fault (for forms), when there is one.
    """

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message
