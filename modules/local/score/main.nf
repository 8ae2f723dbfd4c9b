// Metrics of a predictions table against the true labels (scikit-learn).
process SCORE {
    tag "${meta.id}"
    label 'process_single'

    input:
    tuple val(meta), path(predictions), path(truth)

    output:
    tuple val(meta), path("${meta.id}_metrics.json"), emit: metrics
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    locflow score --predictions ${predictions} --truth ${truth} --out ${meta.id}_metrics.json ${args}
    """

    stub:
    """
    echo '{}' > ${meta.id}_metrics.json
    """
}
