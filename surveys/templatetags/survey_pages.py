"""`{% kept "name" value… %}…{% endkept %}`: a part of a survey page that depends only on
the values named (a language, a survey's scale), rendered once per web process and
kept as surveys/page_setup.py keeps the sender and the texts: KEEP_SECONDS at most,
forgotten when a sender, survey or text is saved here or a setting changes. Each node a
page renders costs it time on the hottest public path (issue 15); a kept part costs one
dictionary look-up.

Name every value the part shows: they make its key. Never keep a part that shows
something of one request or one respondent (the CSRF token, a CSP nonce, a name, a
comment)."""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import SafeString

from surveys import page_setup

register = template.Library()


class KeptNode(template.Node):
    def __init__(self, nodelist: NodeList, name: str, values: list[FilterExpression]) -> None:
        self.nodelist, self.name, self.values = nodelist, name, values

    def render(self, context: Context) -> SafeString:
        key = ("kept part", self.name, *(value.resolve(context) for value in self.values))
        return page_setup.kept_or_read(key, lambda: self.nodelist.render(context))


@register.tag
def kept(parser: Parser, token: Token) -> KeptNode:
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError("{% kept %} needs the part's name in quotes: {% kept \"name\" value… %}")
    nodelist = parser.parse(("endkept",))
    parser.delete_first_token()
    return KeptNode(nodelist, bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]])
