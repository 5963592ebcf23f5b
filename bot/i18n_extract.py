"""Finding every message id in the code: a Babel extraction method that reads the syntax tree.

Babel's own Python extractor sees only string literals written inside a keyword call. Here ids also
travel through constants: t(UNKNOWN), t(CATEGORY_LABELS[c]), `for key, label in KIND_LABELS.items():
t(label)`, `message = "..."; raise InputError(message)`, t("a" if x else "b"), constants imported from
another module. So this extractor, a Babel extraction method (see babel.cfg), reads the syntax tree and
follows each id argument to the string values it can hold: local assignments and loop targets, module
constants, names imported from the project's own modules, subscripts and .get() of constant dicts and
tuples. What it cannot follow (a parameter, an attribute such as error.message) is listed as a dynamic
call site by `python -m bot.i18n check`; mark such ids where they are written with N_("...").

The catalogues are kept in step by bot/i18n_catalogues.py (`python -m bot.i18n extract | check`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Called name -> positions (0-based) of its message-id arguments; a pair is (singular, plural).
KEYWORDS: dict[str, tuple[int | tuple[int, int], ...]] = {
    "t": (0,), "_": (0,), "N_": (0,), "gettext": (0,),
    "plural": ((0, 1),), "ngettext": ((0, 1),),
    "send_to_member": (2,),  # send_to_member(context, member, "id", **values)
    "tell_coordinators": (1,),  # tell_coordinators(context, "id", **values)
    "InputError": (0,),  # raise InputError("id", **values); handlers show t(error.message)
}
MESSAGE_KEYWORD = "message"  # f(..., message="id") carries an id (inputs.text_field and its callers)
TRANSLATOR_FACTORIES = ("translator", "Translator")  # translator(language)("id")
# What the extractor yields to Babel: names in Babel's default keywords, so `pybabel extract -F
# babel.cfg` works without -k options.
BABEL_KEYWORDS = {"gettext": None, "ngettext": (1, 2)}


@dataclass(frozen=True)
class DynamicSite:
    """An id argument the extractor could not follow to string literals."""

    path: str
    line: int
    code: str
    built: bool = False  # an f-string, "+" or "%" or .format(): a sentence built in code, never translatable

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}"


# The syntax-tree reader -------------------------------------------------------------------------------


@dataclass
class Scope:
    """Names bound in one function (or the module): each to the expressions it may hold."""

    bindings: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    params: set[str] = field(default_factory=set)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (module, attribute)

    def bind(self, name: str, kind: str, value: Any) -> None:
        self.bindings.setdefault(name, []).append((kind, value))


_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _target_paths(target: ast.expr, path: tuple[int, ...] = ()) -> Iterator[tuple[str, tuple[int, ...]]]:
    """`key, (a, b)` -> ("key", (0,)), ("a", (1, 0)), ("b", (1, 1))."""
    if isinstance(target, ast.Name):
        yield target.id, path
    elif isinstance(target, (ast.Tuple, ast.List)):
        for index, element in enumerate(target.elts):
            yield from _target_paths(element, (*path, index))


def _collect(node: ast.AST, scope: Scope) -> None:
    """Bindings made directly in this scope (nested functions and classes have their own)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPE_NODES):
            if not isinstance(child, ast.Lambda):
                scope.bind(child.name, "opaque", child)
            continue
        if isinstance(child, ast.Assign):
            for target in child.targets:
                for name, path in _target_paths(target):
                    scope.bind(name, "value" if not path else "unpack", (child.value, path))
        elif isinstance(child, (ast.AnnAssign, ast.NamedExpr)) and child.value is not None:
            if isinstance(child.target, ast.Name):
                scope.bind(child.target.id, "value", (child.value, ()))
        elif isinstance(child, ast.AugAssign) and isinstance(child.target, ast.Name):
            scope.bind(child.target.id, "opaque", child)
        elif isinstance(child, (ast.For, ast.AsyncFor, ast.comprehension)):
            for name, path in _target_paths(child.target):
                scope.bind(name, "loop", (child.iter, path))
        elif isinstance(child, ast.withitem) and child.optional_vars is not None:
            for name, _ in _target_paths(child.optional_vars):
                scope.bind(name, "opaque", child)
        elif isinstance(child, ast.ExceptHandler) and child.name:
            scope.bind(child.name, "opaque", child)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            _collect_import(child, scope)
        _collect(child, scope)


def _collect_import(node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                scope.imports[alias.asname] = (alias.name, None)
            else:  # `import a.b` binds `a`
                scope.imports[alias.name.split(".")[0]] = (alias.name.split(".")[0], None)
    elif node.module and not node.level:
        for alias in node.names:
            scope.imports[alias.asname or alias.name] = (node.module, alias.name)


def _function_scope(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> Scope:
    scope = Scope()
    arguments = node.args
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg):
        if argument is not None:
            scope.params.add(argument.arg)
    _collect(node, scope)
    return scope


class Project:
    """The project's modules, parsed once, so a name imported from another module can be followed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[str, tuple[ast.Module, Scope] | None] = {}

    def module(self, dotted: str) -> tuple[ast.Module, Scope] | None:
        if dotted not in self._modules:
            base = self.root.joinpath(*dotted.split("."))
            path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
            self._modules[dotted] = self.parse(path.read_text(encoding="utf-8")) if path else None
        return self._modules[dotted]

    @staticmethod
    def parse(source: str) -> tuple[ast.Module, Scope]:
        tree = ast.parse(source)
        scope = Scope()
        _collect(tree, scope)
        return tree, scope


class Follower:
    """Turns an expression into the strings it can hold; records whether anything could not be followed."""

    MAX_DEPTH = 12

    def __init__(self, project: Project, chain: list[Scope]) -> None:
        self.project = project
        self.chain = chain  # innermost scope first, the module last
        self.complete = True
        self.built = False

    def strings(self, node: ast.expr | None, depth: int = 0) -> list[str]:
        found: list[str] = []
        for value in self.values(node, depth):
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append(value.value)
            else:
                self.complete = False
                self.built = self.built or _is_built(value)
        return found

    def values(self, node: ast.expr | None, depth: int = 0, chain: list[Scope] | None = None) -> list[ast.expr]:
        """The expressions `node` may evaluate to, with names, subscripts and branches followed."""
        chain = self.chain if chain is None else chain
        if node is None or depth > self.MAX_DEPTH:
            self.complete = False
            return []
        if isinstance(node, ast.IfExp):
            return self.values(node.body, depth + 1, chain) + self.values(node.orelse, depth + 1, chain)
        if isinstance(node, ast.BoolOp):
            return [value for operand in node.values for value in self.values(operand, depth + 1, chain)]
        if isinstance(node, ast.Name):
            return self._name(node.id, depth, chain)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, depth, chain)
        if isinstance(node, ast.Subscript):
            return self.elements(node.value, depth + 1, chain)
        if isinstance(node, ast.Call) and _called_name(node.func) == "N_" and node.args:
            return self.values(node.args[0], depth + 1, chain)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            default = self.values(node.args[1], depth + 1, chain) if len(node.args) > 1 else []
            return self.elements(node.func.value, depth + 1, chain) + default
        return [node]

    def elements(self, node: ast.expr, depth: int, chain: list[Scope]) -> list[ast.expr]:
        """What indexing or iterating a container may give (dict values for a subscript)."""
        found: list[ast.expr] = []
        for container in self.values(node, depth, chain):
            if isinstance(container, ast.Dict):
                found += [v for value in container.values for v in self.values(value, depth + 1, chain)]
            elif isinstance(container, (ast.Tuple, ast.List, ast.Set)):
                found += [v for item in container.elts for v in self.values(item, depth + 1, chain)]
            else:
                self.complete = False
        return found

    def _iterated(self, iterable: ast.expr, depth: int, chain: list[Scope]) -> list[ast.expr]:
        """The items a for loop over `iterable` binds (dict.items() gives (key, value) pairs)."""
        if isinstance(iterable, ast.Call):
            func = iterable.func
            if isinstance(func, ast.Attribute) and func.attr in ("items", "values", "keys"):
                pairs: list[ast.expr] = []
                for container in self.values(func.value, depth + 1, chain):
                    if not isinstance(container, ast.Dict):
                        self.complete = False
                        continue
                    for key, value in zip(container.keys, container.values, strict=True):
                        key = key if key is not None else ast.Constant(None)
                        pairs.append({"items": ast.Tuple([key, value]), "values": value, "keys": key}[func.attr])
                return pairs
            if isinstance(func, ast.Name) and func.id == "enumerate" and iterable.args:
                return [ast.Tuple([ast.Constant(None), item])
                        for item in self._iterated(iterable.args[0], depth + 1, chain)]
            if isinstance(func, ast.Name) and func.id in ("sorted", "reversed", "list", "tuple") and iterable.args:
                return self._iterated(iterable.args[0], depth + 1, chain)
        found: list[ast.expr] = []
        for container in self.values(iterable, depth + 1, chain):
            if isinstance(container, ast.Dict):
                found += [key for key in container.keys if key is not None]
            elif isinstance(container, (ast.Tuple, ast.List, ast.Set)):
                found += container.elts
            else:
                self.complete = False
        return found

    def _pick(self, items: list[ast.expr], path: tuple[int, ...], depth: int, chain: list[Scope]) -> list[ast.expr]:
        """Follow an unpacking path (`for key, label in ...` -> index 1) into each item."""
        found: list[ast.expr] = []
        for item in items:
            if not path:
                found += self.values(item, depth + 1, chain)
                continue
            for value in self.values(item, depth + 1, chain):
                if isinstance(value, (ast.Tuple, ast.List)) and path[0] < len(value.elts):
                    found += self._pick([value.elts[path[0]]], path[1:], depth + 1, chain)
                else:
                    self.complete = False
        return found

    def _name(self, name: str, depth: int, chain: list[Scope]) -> list[ast.expr]:
        for index, scope in enumerate(chain):
            if name in scope.params:
                self.complete = False  # whatever the caller passes
                if name not in scope.bindings:
                    return []
            outer = chain[index:]
            if name in scope.bindings:
                found: list[ast.expr] = []
                for kind, value in scope.bindings[name]:
                    if kind == "value":
                        found += self.values(value[0], depth + 1, outer)
                    elif kind == "unpack":
                        found += self._pick([value[0]], value[1], depth + 1, outer)
                    elif kind == "loop":
                        found += self._pick(self._iterated(value[0], depth + 1, outer), value[1], depth + 1, outer)
                    else:
                        self.complete = False
                return found
            if name in scope.imports:
                return self._imported(*scope.imports[name], depth)
        self.complete = False  # a builtin or an undefined name
        return []

    def _imported(self, module: str, attribute: str | None, depth: int) -> list[ast.expr]:
        if attribute is not None and self.project.module(f"{module}.{attribute}") is not None:
            return [ast.Name(f"{module}.{attribute}")]  # `from handlers import screens`: a module
        if attribute is None:
            return [ast.Name(module)]
        loaded = self.project.module(module)
        if loaded is None:
            self.complete = False
            return []
        return self._name(attribute, depth + 1, [loaded[1]])

    def _attribute(self, node: ast.Attribute, depth: int, chain: list[Scope]) -> list[ast.expr]:
        """`screens.UNKNOWN` where `screens` is a project module; anything else is dynamic."""
        found: list[ast.expr] = []
        for base in self.values(node.value, depth + 1, chain):
            if isinstance(base, ast.Name) and self.project.module(f"{base.id}.{node.attr}") is not None:
                found.append(ast.Name(f"{base.id}.{node.attr}"))  # `handlers.screens` after `import handlers`
                continue
            loaded = self.project.module(base.id) if isinstance(base, ast.Name) else None
            if loaded is None:
                self.complete = False
                continue
            found += self._name(node.attr, depth + 1, [loaded[1]])
        return found


def _is_built(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Call) and _called_name(func.func) in TRANSLATOR_FACTORIES:
        return "t"
    return None


def _enum_values(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Members of StrEnum classes: shown as t(member.status.value) (see bot.i18n.ENUM_MESSAGE_IDS)."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(_called_name(base) == "StrEnum" for base in node.bases):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                        and isinstance(statement.value.value, str):
                    yield statement.lineno, statement.value.value


def _walk(node: ast.AST, chain: list[Scope]) -> Iterator[tuple[ast.Call, list[Scope]]]:
    """Every call with the scope chain it sees."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, [_function_scope(child), *chain])
            continue
        if isinstance(child, ast.Call):
            yield child, chain
        yield from _walk(child, chain)


def extract_ids(source: str, project: Project, path: str = "<source>", dynamic: list | None = None,
                enums: bool = False) -> Iterator[tuple[int, str | tuple[str, str]]]:
    """(line, id) for every message id in one module; (line, (singular, plural)) for plurals."""
    tree, module_scope = project.parse(source)
    if enums:
        yield from _enum_values(tree)
    for call, chain in _walk(tree, [module_scope]):
        name = _called_name(call.func)
        arguments: list[tuple[ast.expr | None, ...]] = []
        for spec in KEYWORDS.get(name, ()):
            positions = spec if isinstance(spec, tuple) else (spec,)
            if len(call.args) > max(positions) and not any(isinstance(a, ast.Starred) for a in call.args):
                arguments.append(tuple(call.args[position] for position in positions))
        arguments += [(keyword.value,) for keyword in call.keywords if keyword.arg == MESSAGE_KEYWORD]
        for group in arguments:
            follower = Follower(project, chain)
            found = [follower.strings(argument) for argument in group]
            if len(group) == 2:
                yield from ((call.lineno, (one, other)) for one, other in zip(*found, strict=False))
            else:
                yield from ((call.lineno, message) for message in found[0])
            if not follower.complete and dynamic is not None:
                code = ", ".join(ast.unparse(argument) for argument in group if argument is not None)
                dynamic.append(DynamicSite(path, call.lineno, code[:100], follower.built))


def _root_of(path: Path) -> Path:
    """The directory the dotted module names start from: the first parent that is not a package."""
    folder = path.parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder


_PROJECTS: dict[Path, Project] = {}  # parsed modules, per source tree


def forget_parsed(root: Path) -> None:
    """Files may have changed since the last extraction in this process."""
    _PROJECTS.pop(root, None)


def extract_parcelbot(fileobj, keywords, comment_tags, options) -> Iterator[tuple[int, str, Any, list[str]]]:
    """The Babel extraction method named in babel.cfg."""
    name = getattr(fileobj, "name", "<source>")
    root = Path(options.get("root") or _root_of(Path(name)))
    project = _PROJECTS.setdefault(root, Project(root))
    source = fileobj.read().decode("utf-8")
    relative = Path(name).resolve().relative_to(root.resolve()) if Path(name).is_absolute() else Path(name)
    enums = str(options.get("enums", "")).lower() in ("1", "true", "yes")
    for line, message in extract_ids(source, project, str(relative), options.get("dynamic"), enums):
        yield (line, "ngettext", message, []) if isinstance(message, tuple) else (line, "gettext", message, [])
