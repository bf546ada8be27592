# -*- python -*-
# omniidl back end: the type description that Combat, a pure-Tcl ORB (Debian's tcl-combat),
# loads with `combat::ir add`. Combat's own idl2tcl needs a running interface repository; this
# writes the same description straight from the IDL.
#
#   omniidl -p <dir of this file> -btclcombat -C <out dir> oserv.idl   ->   oserv_combat.tcl
#
# The description is a Tcl list of nested items, as Combat's SimpleTypeRepository reads them:
#   {module {REPOID NAME VERSION} {ITEMS}}
#   {interface {REPOID NAME VERSION} {BASE-REPOIDS} {ITEMS}}
#   {operation {REPOID NAME VERSION} TYPE {{in|out|inout NAME TYPE}...} {RAISES...} [oneway]}
#   {attribute {REPOID NAME VERSION} TYPE [readonly]}
#   {struct|exception {REPOID NAME VERSION} {{NAME TYPE}...} {ITEMS}}
#   {typedef {REPOID NAME VERSION} TYPE}
#   {enum {REPOID NAME VERSION} {ENUMERATORS}}
# where TYPE is a basic type's name ("unsigned long"), the repository id of a declared type, or
# {sequence TYPE} / {string BOUND}.
"""Writes a Combat (tcl-combat) type description of the IDL."""

import os

from omniidl import idlast, idltype

BASIC = {
    idltype.tk_void: "void", idltype.tk_short: "short", idltype.tk_long: "long",
    idltype.tk_ushort: "unsigned short", idltype.tk_ulong: "unsigned long",
    idltype.tk_float: "float", idltype.tk_double: "double", idltype.tk_boolean: "boolean",
    idltype.tk_char: "char", idltype.tk_octet: "octet", idltype.tk_any: "any",
    idltype.tk_TypeCode: "TypeCode", idltype.tk_longlong: "long long",
    idltype.tk_ulonglong: "unsigned long long", idltype.tk_wchar: "wchar",
}


def quote(word):
    """One element of a Tcl list."""
    word = str(word)
    if word and not any(c in word for c in " \t\n{}\"\\$[];"):
        return word
    return "{" + word + "}"


def tcl_list(items):
    return " ".join(quote(i) if isinstance(i, str) else "{" + tcl_list(i) + "}" for i in items)


def type_name(t):
    """The description of an IDL type, as a string or a nested list."""
    if isinstance(t, idltype.Base):
        return BASIC[t.kind()]
    if isinstance(t, idltype.String):
        return ["string", str(t.bound())] if t.bound() else "string"
    if isinstance(t, idltype.WString):
        return ["wstring", str(t.bound())] if t.bound() else "wstring"
    if isinstance(t, idltype.Sequence):
        element = type_name(t.seqType())
        return ["sequence", element, str(t.bound())] if t.bound() else ["sequence", element]
    if isinstance(t, idltype.Declared):
        if t.kind() == idltype.tk_objref and t.scopedName() == ["CORBA", "Object"]:
            return "Object"
        return t.decl().repoId()
    raise RuntimeError("tclcombat: type %r is not supported" % t)


def header(decl, identifier=None):
    return [decl.repoId(), identifier or decl.identifier(), "1.0"]


def members(decl):
    return [[d.identifier(), type_name(m.memberType())] for m in decl.members()
            for d in m.declarators()]


def item(decl):
    """The description items of one declaration (several for a typedef or attribute list)."""
    if isinstance(decl, idlast.Module):
        return [["module", header(decl), [i for d in decl.definitions() for i in item(d)]]]
    if isinstance(decl, idlast.Interface):
        return [["interface", header(decl), [b.repoId() for b in decl.inherits()],
                 [i for d in decl.contents() for i in item(d)]]]
    if isinstance(decl, idlast.Operation):
        params = [[p.dirtext(), p.identifier(), type_name(p.paramType())]
                  for p in decl.parameters()]
        out = ["operation", header(decl), type_name(decl.returnType()), params,
               [e.repoId() for e in decl.raises()]]
        return [out + (["oneway"] if decl.oneway() else [])]
    if isinstance(decl, idlast.Attribute):
        return [["attribute", header(d), type_name(decl.attrType())] +
                (["readonly"] if decl.readonly() else []) for d in decl.declarators()]
    if isinstance(decl, (idlast.Struct, idlast.Exception)):
        kind = "struct" if isinstance(decl, idlast.Struct) else "exception"
        return [[kind, header(decl), members(decl), []]]
    if isinstance(decl, idlast.Typedef):
        return [["typedef", header(d), type_name(decl.aliasType())] for d in decl.declarators()]
    if isinstance(decl, idlast.Enum):
        return [["enum", header(decl), [e.identifier() for e in decl.enumerators()]]]
    if isinstance(decl, (idlast.Forward, idlast.Const)):
        return []
    raise RuntimeError("tclcombat: declaration %r is not supported" % decl)


def run(tree, args):
    items = [i for d in tree.declarations() if d.mainFile() for i in item(d)]
    name = os.path.splitext(os.path.basename(tree.file()))[0] + "_combat.tcl"
    with open(name, "w") as f:
        f.write("# Generated from %s by idl/tclcombat.py (omniidl). Do not edit.\n"
                % os.path.basename(tree.file()))
        f.write("package require combat\n")
        f.write("combat::ir add {%s}\n" % tcl_list(items))
