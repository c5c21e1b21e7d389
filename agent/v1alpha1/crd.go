package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// CRDName is the name of the NetworkChaos CustomResourceDefinition.
const CRDName = Resource + "." + Group

// ManagedByLabel marks the CRD chaostest installed (app.kubernetes.io/managed-by=chaostest), so
// that the Go API knows the chaostest agent, not Chaos Mesh, serves the kind.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// crdYAML is a structural schema of the subset chaostest reads; every other field of Chaos
// Mesh's schema is preserved (x-kubernetes-preserve-unknown-fields), so objects written for
// Chaos Mesh are stored as they are and refused by the agent with a reason.
const crdYAML = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: networkchaos.chaos-mesh.org
  labels:
    app.kubernetes.io/managed-by: chaostest
spec:
  group: chaos-mesh.org
  scope: Namespaced
  names:
    kind: NetworkChaos
    listKind: NetworkChaosList
    plural: networkchaos
    singular: networkchaos
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: action
      type: string
      jsonPath: .spec.action
    - name: duration
      type: string
      jsonPath: .spec.duration
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            required: [action, mode, selector]
            properties:
              action:
                type: string
                enum: [netem, delay, loss, duplicate, corrupt, partition, bandwidth]
              mode:
                type: string
                enum: [one, all, fixed, fixed-percent, random-max-percent]
              value: {type: string}
              selector: &selector
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  namespaces: {type: array, items: {type: string}}
                  labelSelectors: {type: object, additionalProperties: {type: string}}
                  annotationSelectors: {type: object, additionalProperties: {type: string}}
              direction:
                type: string
                enum: [to, from, both]
              duration: {type: string}
              externalTargets: {type: array, items: {type: string}}
              loss:
                type: object
                properties:
                  loss: {type: string}
                  correlation: {type: string}
              delay:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  latency: {type: string}
                  correlation: {type: string}
                  jitter: {type: string}
                  reorder:
                    type: object
                    required: [reorder, gap]
                    properties:
                      reorder: {type: string}
                      correlation: {type: string}
                      gap: {type: integer}
              duplicate:
                type: object
                required: [duplicate]
                properties:
                  duplicate: {type: string}
                  correlation: {type: string}
              corrupt:
                type: object
                required: [corrupt]
                properties:
                  corrupt: {type: string}
                  correlation: {type: string}
              target:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  mode:
                    type: string
                    enum: [one, all, fixed, fixed-percent, random-max-percent]
                  value: {type: string}
                  selector: *selector
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`

// CRD returns the NetworkChaos CustomResourceDefinition chaostest installs when a cluster has
// none (a cluster with Chaos Mesh keeps Chaos Mesh's).
func CRD() *unstructured.Unstructured {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(crdYAML), &m); err != nil {
		panic(fmt.Sprintf("v1alpha1: the embedded CRD does not parse: %v", err))
	}
	return &unstructured.Unstructured{Object: m}
}
