def test_smoke(deployed):
    for d in deployed.values():
        print(d.name, d.seconds, sorted(d.outputs))
