package io.loadlevel.consumer;

import io.loadlevel.common.LoadlevelCommonConfiguration;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Import;

/** Queue consumer: takes requests from the work queue at its own pace and records their outcome. */
@SpringBootApplication
@ConfigurationPropertiesScan
@Import(LoadlevelCommonConfiguration.class)
public class ConsumerApplication {

    public static void main(String[] args) {
        SpringApplication.run(ConsumerApplication.class, args);
    }
}
