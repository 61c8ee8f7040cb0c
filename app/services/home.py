"""What the home page shows. Later modules add sections (to-dos, due lists, charts) by
registering a function that returns a section dict or None for a user."""

SECTION_PROVIDERS = []


def register_section(provider):
    SECTION_PROVIDERS.append(provider)
    return provider


def home_sections(user):
    sections = []
    for provider in SECTION_PROVIDERS:
        section = provider(user)
        if section:
            sections.append(section)
    return sections
