# Sphinx configuration of the socketio-c documentation.
#
# The API reference comes from the comments of include/: docs/build.sh runs
# doxygen first (XML into $SIO_DOXYGEN_XML) and breathe renders it with
# Sphinx's C domain. Two checks of our own run at the end of reading, as
# warnings (the build runs with -W, so they fail it):
#   - every public symbol doxygen found is declared on some page;
#   - include-if-exists includes a Markdown file only when it exists
#     (otherwise its own body), for results written by another program.
import os
import xml.etree.ElementTree as ET

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.util import logging

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

project = "socketio-c"
author = "the socketio-c authors"
copyright = "the socketio-c authors"
version = release = "0.1.0"

extensions = ["breathe", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["samples", "Doxyfile", "build.sh", "CMakeLists.txt"]
primary_domain = "c"
highlight_language = "none"  # literal blocks without a language stay plain
myst_heading_anchors = 3

html_theme = "furo"
html_title = "socketio-c"
html_static_path = []
html_show_sourcelink = False
html_copy_source = False

# ---- breathe ------------------------------------------------------------------
DOXYGEN_XML = os.environ.get("SIO_DOXYGEN_XML", os.path.join(ROOT, "build", "docs", "doxygen", "xml"))
breathe_projects = {"socketio": DOXYGEN_XML}
breathe_default_project = "socketio"
breathe_domain_by_extension = {"h": "c"}
breathe_default_members = ("members",)
breathe_show_include = False

# Every reference must resolve, except to types of the libraries we build on.
nitpicky = True
nitpick_ignore = [
    ("c:identifier", name)
    for name in (
        "size_t", "uint8_t", "uint32_t", "uint64_t", "int64_t", "time_t", "bool",
        "uv_loop_t", "uv_tcp_t", "json_t",
    )
]

# ---- man pages (sphinx-build -b man) -------------------------------------------
man_pages = [
    ("man/sio-chat", "sio-chat", "the socketio-c chat server", [author], 1),
    ("man/sio-test-server", "sio-test-server", "servers for protocol test suites", [author], 1),
    ("man/sio-bench", "sio-bench", "load generator for Socket.IO servers (summary)", [author], 1),
]
man_show_urls = False

logger = logging.getLogger("socketio-docs")


class IncludeIfExists(Directive):
    """Includes a Markdown file (parsed with MyST) if it exists; otherwise the
    directive's own body is shown. The file is a dependency either way."""

    required_arguments = 1
    has_content = True

    def run(self):
        env = self.state.document.settings.env
        rel, path = env.relfn2path(self.arguments[0])
        env.note_dependency(rel)
        container = nodes.container()
        if os.path.isfile(path):
            include = [f".. include:: {self.arguments[0]}", "   :parser: myst_parser.sphinx_"]
            source, line = self.state_machine.get_source_and_line(self.lineno)
            self.state.nested_parse(StringList(include, source=source), 0, container)
            return container.children
        self.state.nested_parse(self.content, self.content_offset, container)
        return container.children


def public_symbols(xml_dir):
    """Names doxygen documents in include/: functions, typedefs, enums and
    structs. (A typedef named like its struct is declared with the struct.)"""
    index = ET.parse(os.path.join(xml_dir, "index.xml")).getroot()
    names = set()
    for compound in index.findall("compound"):
        if compound.get("kind") == "struct":
            names.add(compound.findtext("name"))
        elif compound.get("kind") == "file":
            for member in compound.findall("member"):
                if member.get("kind") in ("function", "typedef", "enum"):
                    names.add(member.findtext("name"))
    return names


def check_reference(app, env):
    xml_dir = breathe_projects["socketio"]
    if not os.path.isfile(os.path.join(xml_dir, "index.xml")):
        logger.warning("no doxygen XML in %s: run docs/build.sh", xml_dir)
        return
    declared = {name for name, *_ in env.get_domain("c").get_objects()}
    missing = sorted(n for n in public_symbols(xml_dir) if n not in declared)
    for name in missing:
        logger.warning("public symbol %s is not in the API reference (docs/api/*.rst)", name)


def setup(app):
    app.add_directive("include-if-exists", IncludeIfExists)
    app.connect("env-check-consistency", check_reference)
    return {"parallel_read_safe": True}
