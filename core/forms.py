"""The base of the pages' WTForms forms: WTForms' own messages ("This field is required.",
"Not a valid choice.") go through the app's catalogue. WTForms ships no Vietnamese
translation, so Flask-WTF's default (WTForms' catalogues) showed them in English on a
Vietnamese page; they are msgids of core/translations/vi like every other message."""

from __future__ import annotations

from flask_babel import get_translations
from flask_wtf import FlaskForm


class _Catalogue:
    """WTForms' translations interface, answered from the request's catalogue. No
    formatting here: WTForms fills its placeholders itself ("%(max)d")."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form) -> _Catalogue:  # noqa: ARG002 - WTForms' signature
            return _Catalogue()
