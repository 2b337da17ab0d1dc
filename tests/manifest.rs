//! package.xml is a ROS 2 format-3 manifest that agrees with Cargo.toml.

#[test]
fn package_xml_matches_cargo() {
    let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/package.xml")).unwrap();
    assert!(xml.contains(r#"<package format="3">"#));
    assert!(xml.contains(&format!("<name>{}</name>", env!("CARGO_PKG_NAME"))));
    assert!(xml.contains(&format!("<version>{}</version>", env!("CARGO_PKG_VERSION"))));
    assert!(xml.contains("<build_type>ament_cargo</build_type>"));
    let license = env!("CARGO_PKG_LICENSE");
    assert!(xml.contains(&format!("<license>{license}</license>")));
    // Well-formed enough for colcon: every opened element is closed.
    for tag in [
        "package",
        "name",
        "version",
        "description",
        "maintainer",
        "license",
        "export",
    ] {
        assert_eq!(
            xml.matches(&format!("<{tag}")).count(),
            xml.matches(&format!("</{tag}>")).count(),
            "<{tag}> not balanced"
        );
    }
}
