"""layerwatch custom resources (pydantic models), the CRD generator and the policy decision."""
