"""The one exception type for bad user input (the CLI prints it in one line and exits 2)."""


class UserInputError(ValueError):
    """Raised for input a user can fix: a missing file, an empty corpus, a bad option value."""


class TrainingDiverged(UserInputError):
    """The loss became NaN or infinite; the last good checkpoint is kept (often: lower the learning rate)."""
