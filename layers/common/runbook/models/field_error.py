"""An error a model-level rule raises about one field of the config, so that the config loader can
point at that field's line instead of at the model's first line."""


class ConfigFieldError(ValueError):
    """`loc`: the field's path relative to the model whose validator raises it, e.g. ("checks", 3,
    "name"). `see`: another field the message refers to (the first of two equal names), if any."""

    def __init__(
        self, loc: tuple[int | str, ...], message: str, see: tuple[int | str, ...] | None = None
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.see = see
